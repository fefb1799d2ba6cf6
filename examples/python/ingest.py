#!/usr/bin/env python3
"""Ingest a few records into Sightline through the gateway, from Python (grpcio, TLS).

    pip install grpcio grpcio-tools
    python3 examples/python/ingest.py --gateway 127.0.0.1:7443 --ca .sightline/pki/ca.pem --api-key slk_...

The stubs are generated from Proto/ at start-up (grpc_tools.protoc), so the script always
matches the contract in this repository. It ingests three records, one of them invalid,
checks the answer (2 accepted, 1 rejected with the field named) and reads the stats back.
Exit status 0 when everything matched.
"""
import argparse
import importlib
import os
import sys
import tempfile

import grpc
import grpc_tools
from grpc_tools import protoc

HERE = os.path.dirname(os.path.abspath(__file__))
PROTO = os.path.join(HERE, "..", "..", "Proto")


def generate_stubs(out):
    well_known = os.path.join(os.path.dirname(grpc_tools.__file__), "_proto")
    files = ["sightline/common/v1/common.proto", "sightline/ingestion/v1/ingestion.proto"]
    code = protoc.main(["protoc", f"-I{PROTO}", f"-I{well_known}", f"--python_out={out}", f"--grpc_python_out={out}", *files])
    if code != 0:
        sys.exit(f"protoc failed ({code})")
    sys.path.insert(0, out)
    return (importlib.import_module("sightline.ingestion.v1.ingestion_pb2"),
            importlib.import_module("sightline.ingestion.v1.ingestion_pb2_grpc"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gateway", default="127.0.0.1:7443")
    parser.add_argument("--ca", required=True, help="the suite's CA certificate (DATA_DIR/pki/ca.pem)")
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as out:
        pb, rpc = generate_stubs(out)
        with open(args.ca, "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        # The development certificate names localhost (and the loopback IPs).
        options = [("grpc.ssl_target_name_override", "localhost")]
        with grpc.secure_channel(args.gateway, credentials, options=options) as channel:
            stub = rpc.IngestionStub(channel)
            metadata = [("authorization", f"Bearer {args.api_key}")]
            events = [
                pb.Event(event_id="py-1", ticket_event=pb.TicketEvent(
                    ticket_id="PY-T1", customer_id="PY-C1", time="2026-03-01T09:30:00+08:00",
                    kind=pb.TICKET_EVENT_KIND_CREATED, channel="WeChat", priority=pb.PRIORITY_HIGH)),
                pb.Event(event_id="py-2", survey_response=pb.SurveyResponse(
                    customer_id="PY-C1", ticket_id="PY-T1", kind=pb.SURVEY_KIND_CSAT, score=5,
                    comment="fast and friendly", time="2026-03-01T12:00:00+08:00")),
                pb.Event(event_id="py-3", survey_response=pb.SurveyResponse(
                    customer_id="PY-C1", kind=pb.SURVEY_KIND_NPS, score=11, time="2026-03-01T12:00:00Z")),
            ]
            reply = stub.Ingest(pb.IngestRequest(events=events), metadata=metadata, timeout=10)
            print(f"accepted {reply.accepted}, duplicates {reply.duplicates}, rejected {len(reply.rejected)}, offset {reply.offset}")
            for error in reply.rejected:
                print(f"  rejected #{error.index} {error.record_id} {error.field}: {error.reason}")
            stats = stub.GetStats(pb.GetStatsRequest(), metadata=metadata, timeout=10)
            print(f"stats: last offset {stats.last_offset}, by kind {dict(stats.events_by_kind)}")
            ok = (reply.accepted == 2 and len(reply.rejected) == 1 and reply.rejected[0].field == "survey_response.score"
                  and stats.last_offset >= 2)
            # A wrong key is refused with UNAUTHENTICATED.
            try:
                stub.GetStats(pb.GetStatsRequest(), metadata=[("authorization", "Bearer slk_wrong")], timeout=10)
                ok = False
            except grpc.RpcError as error:
                ok = ok and error.code() == grpc.StatusCode.UNAUTHENTICATED
    print("OK" if ok else "MISMATCH")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
