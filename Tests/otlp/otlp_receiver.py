#!/usr/bin/env python3
"""A minimal OTLP/gRPC trace receiver for TracingTests: serves the collector's
TraceService on 127.0.0.1, prints the port it bound, and appends every span it receives
to a file as one JSON object per line (service, ids in hex, parent, name, kind,
attributes as text, status). Stops by itself after --seconds.

Needs grpcio and opentelemetry-proto (pip).
"""
import argparse
import json
import sys
import threading
from concurrent import futures

import grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc


def value(any_value):
    """An attribute's value as text (what the test compares)."""
    kind = any_value.WhichOneof("value")
    return str(getattr(any_value, kind)) if kind else ""


class Receiver(trace_service_pb2_grpc.TraceServiceServicer):
    def __init__(self, path):
        self.path = path
        self.lock = threading.Lock()

    def Export(self, request, context):
        lines = []
        for resource_spans in request.resource_spans:
            resource = {a.key: value(a.value) for a in resource_spans.resource.attributes}
            for scope_spans in resource_spans.scope_spans:
                for span in scope_spans.spans:
                    lines.append(json.dumps({
                        "service": resource.get("service.name"),
                        "trace_id": span.trace_id.hex(),
                        "span_id": span.span_id.hex(),
                        "parent_span_id": span.parent_span_id.hex(),
                        "name": span.name,
                        "kind": span.kind,
                        "attributes": {a.key: value(a.value) for a in span.attributes},
                        "status": {"code": span.status.code, "message": span.status.message},
                    }))
        with self.lock, open(self.path, "a", encoding="utf-8") as out:
            for line in lines:
                out.write(line + "\n")
        return trace_service_pb2.ExportTraceServiceResponse()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, help="file the spans are appended to, as JSON lines")
    parser.add_argument("--seconds", type=float, default=300, help="stop after this long")
    args = parser.parse_args()
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(Receiver(args.out), server)
    port = server.add_insecure_port("127.0.0.1:0")
    server.start()
    print(port, flush=True)
    server.wait_for_termination(timeout=args.seconds)
    server.stop(grace=1)
    sys.exit(0)


if __name__ == "__main__":
    main()
