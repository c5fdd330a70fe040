"""S3-compatible test server: moto over TLS, with authentication on.

Reads /certs/server.pem and /certs/server.key (put in by the test before the start),
serves HTTPS on :443, then creates one IAM user allowed s3:* and its access key (the first three
requests, allowed by INITIAL_NO_AUTH_ACTION_COUNT), creates BUCKET with that key (authenticated),
writes the key in the AWS credentials file format to /state/credentials and touches /state/ready.
Any other key is refused from then on.
"""
import json
import os
import threading
import time
import warnings

import boto3
from botocore.config import Config
from moto.core.responses import ActionAuthenticatorMixin
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server

PORT = 443
BUCKET = os.environ.get("BUCKET", "citusctl-test")
REGION = "us-east-1"


# Two fixes to moto's server for clients other than boto3 (pgBackRest):
# 1. moto checks a signature against the URL werkzeug decoded ("%2F" becomes "/"), not the one the
#    client signed: a listing with a prefix fails. Check against the raw request line instead.
_authenticate = ActionAuthenticatorMixin._authenticate_and_authorize_action


def _authenticate_raw(self, iam_request_cls, resource="*"):
    raw = getattr(getattr(self, "request", None), "environ", {}).get("RAW_URI")
    if not raw:
        return _authenticate(self, iam_request_cls, resource)
    decoded = self.uri
    self.uri = raw
    try:
        return _authenticate(self, iam_request_cls, resource)
    finally:
        self.uri = decoded


ActionAuthenticatorMixin._authenticate_and_authorize_action = _authenticate_raw


# 2. A response whose Content-Length is missing or wrong ends at the connection's close, which werkzeug
#    does without TLS's close_notify: OpenSSL 3 (pgBackRest) calls that an unexpected EOF. Give every
#    body its own length.
def with_length(app):
    def wrapped(environ, start_response):
        seen = {}

        def capture(status, headers, exc_info=None):
            seen["status"], seen["headers"] = status, headers
            return lambda _data: None

        body = b"".join(app(environ, capture))
        headers = list(seen["headers"])
        if environ["REQUEST_METHOD"] != "HEAD":
            # Also replaces a wrong one: moto answers a PUT with the object's length and no body.
            headers = [(k, v) for k, v in headers if k.lower() != "content-length"]
            headers.append(("Content-Length", str(len(body))))
        start_response(seen["status"], headers)
        return [body]

    return wrapped


def serve():
    app = with_length(DomainDispatcherApplication(create_backend_app))
    server = make_server("0.0.0.0", PORT, app, threaded=True, ssl_context=("/certs/server.pem", "/certs/server.key"))
    # 3. werkzeug closes every connection after its response, dropping TLS without close_notify;
    #    OpenSSL 3 clients (pgBackRest) then fail a body-less response with "unexpected eof". Say goodbye.
    close = server.shutdown_request

    def shutdown_request(request):
        try:
            request.settimeout(1)
            request.unwrap()
        except Exception:
            pass
        close(request)

    server.shutdown_request = shutdown_request
    server.serve_forever()


def client(service, **kw):
    return boto3.client(
        service,
        endpoint_url=f"https://localhost:{PORT}",
        region_name=REGION,
        # Its own loopback (the certificate names the test's host name, not localhost).
        verify=False,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
        **kw,
    )


def main():
    warnings.filterwarnings("ignore")  # urllib3's warning about the unverified loopback
    threading.Thread(target=serve, daemon=True).start()
    setup = dict(aws_access_key_id="setup", aws_secret_access_key="setup")
    for _ in range(100):
        try:
            iam = client("iam", **setup)
            iam.create_user(UserName="citusctl")
            break
        except Exception as err:  # the server is not listening yet
            if "EntityAlreadyExists" in str(err):
                break
            last = err
            time.sleep(0.1)
    else:
        raise SystemExit(f"s3-server: set-up failed: {last}")
    key = iam.create_access_key(UserName="citusctl")["AccessKey"]
    iam.put_user_policy(
        UserName="citusctl",
        PolicyName="s3",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}
        ),
    )
    creds = dict(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
    client("s3", **creds).create_bucket(Bucket=BUCKET)
    os.makedirs("/state", exist_ok=True)
    with open("/state/credentials", "w") as f:
        f.write(
            "[default]\n"
            f"aws_access_key_id = {key['AccessKeyId']}\n"
            f"aws_secret_access_key = {key['SecretAccessKey']}\n"
        )
    open("/state/ready", "w").close()
    print("s3-server: ready", flush=True)
    while True:
        time.sleep(3600)


if __name__ == "__main__":
    main()
