#!/usr/bin/env python3
"""Reference signatures for DeliveryModelTests, computed with Python's hmac, independently
of the Swift code under test. Run: python3 Tests/SightlineTests/Fixtures/delivery/signatures.py

- Standard Webhooks: the specification's own example (standard-webhooks/standard-webhooks,
  spec "Verifying webhook authenticity"): secret, msg id, timestamp and body below sign to
  v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=.
- DingTalk: sign = urlencode(base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))),
  as DingTalk's robot documentation gives it in Python.
"""
import base64
import hashlib
import hmac
import urllib.parse

secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
msg_id, timestamp, body = "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, '{"test": 2432232314}'
key = base64.b64decode(secret.split("_")[1])
signed = f"{msg_id}.{timestamp}.{body}".encode()
print("webhook", "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode())

ding_secret, ding_timestamp = "SEC0123456789abcdefSightline", 1764849600000
string_to_sign = f"{ding_timestamp}\n{ding_secret}".encode()
sign = base64.b64encode(hmac.new(ding_secret.encode(), string_to_sign, hashlib.sha256).digest())
print("dingtalk", urllib.parse.quote_plus(sign))
