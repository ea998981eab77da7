"""Bad requests get a 4xx and one line naming what is wrong (the column, the limit), never a traceback or a 500."""

from __future__ import annotations

import json

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.serving.conftest import MAX_BODY_MB, MAX_ROWS, records
from tests.serving.service import raw_exchange

ROW = {"customer_id": 1, "age": 41.0, "income": 52000.0, "city": "paris", "signup": "2021-03-04 12:00:00",
       "review": "great service fast delivery", "constant": "x"}
JSON = "application/json"
LIMIT = int(MAX_BODY_MB * 2**20)


def row(**changes) -> dict:
    return {**ROW, **changes}


def without(*columns: str) -> dict:
    return {k: v for k, v in ROW.items() if k not in columns}


def body(rows: list) -> str:
    return json.dumps({"rows": rows})


CSV_HEADER = "customer_id,age,income,city,signup,review,constant\n"
CSV_LINE = "1,41.0,52000.0,paris,2021-03-04 12:00:00,great service fast delivery,x\n"

# (id, content type, body, expected status, words the one-line reason must contain)
CASES = [
    ("missing-column", JSON, body([without("age")]), 422, ["'age'", "row 0"]),
    ("missing-two-columns", JSON, body([without("age", "city")]), 422, ["'age'", "'city'"]),
    ("missing-in-a-later-row", JSON, body([ROW, ROW, without("review")]), 422, ["row 2", "'review'"]),
    ("text-in-numeric", JSON, body([row(age="forty")]), 422, ["'age'", "expected a number", "forty"]),
    ("boolean-in-numeric", JSON, body([row(income=True)]), 422, ["'income'", "expected a number"]),
    ("number-as-date", JSON, body([row(signup=20210304)]), 422, ["'signup'", "date"]),
    ("nested-object", JSON, body([row(city={"name": "paris"})]), 422, ["'city'", "an object"]),
    ("nested-list", JSON, body([row(review=["great", "service"])]), 422, ["'review'", "a list"]),
    ("nested-in-extra-column", JSON, body([row(extra={"a": 1})]), 422, ["'extra'", "an object"]),
    ("nan", JSON, body([ROW]).replace("41.0", "NaN"), 422, ["'age'", "NaN"]),
    ("infinity", JSON, body([ROW]).replace("52000.0", "Infinity"), 422, ["'income'", "Infinity"]),
    ("minus-infinity", JSON, body([ROW]).replace("52000.0", "-Infinity"), 422, ["'income'", "Infinity"]),
    ("overflowing-number", JSON, body([ROW]).replace("52000.0", "1e999"), 422, ["'income'", "inf"]),
    ("malformed-json", JSON, '{"rows": [{"age": 1,', 400, ["malformed JSON", "line 1"]),
    ("not-utf8", JSON, b'{"rows": [{"city": "\xff\xfe"}]}', 400, ["UTF-8"]),
    ("deep-nesting", JSON, '{"rows": ' + "[" * 100_000 + "]" * 100_000 + "}", 400, ["nests too deeply"]),
    ("empty-rows", JSON, body([]), 400, ['"rows" is empty']),
    ("rows-not-a-list", JSON, json.dumps({"rows": ROW}), 400, ['"rows" must be a list']),
    ("rows-null", JSON, json.dumps({"rows": None}), 400, ['no "rows"']),
    ("top-level-list", JSON, json.dumps([ROW]), 400, ["expected a JSON object", "a list"]),
    ("unknown-top-level-field", JSON, json.dumps({"rows": [ROW], "model": "x"}), 400, ["unknown field", "'model'"]),
    ("no-rows-field", JSON, "{}", 400, ['no "rows"']),
    ("row-not-an-object", JSON, body([ROW, 7]), 400, ["row 1", "not an object"]),
    ("empty-body", JSON, "", 400, ["empty"]),
    ("too-many-rows", JSON, body([ROW] * (MAX_ROWS + 1)), 413, [f"{MAX_ROWS + 1:,} rows", f"{MAX_ROWS:,}"]),
    ("unknown-content-type", "text/plain", body([ROW]), 415, ["'text/plain'", "application/json"]),
    ("no-content-type", None, body([ROW]), 415, ["none", "text/csv"]),
    ("csv-missing-column", "text/csv", "customer_id,income\n1,5\n", 422, ["'age'", "lacks column"]),
    ("csv-text-in-numeric", "text/csv", CSV_HEADER + CSV_LINE.replace("41.0", "forty"), 422, ["'age'", "forty"]),
    ("csv-header-only", "text/csv", CSV_HEADER, 400, ["no rows"]),
    ("csv-too-many-rows", "text/csv", CSV_HEADER + CSV_LINE * (MAX_ROWS + 1), 413,
     [f"{MAX_ROWS + 1:,} rows", f"{MAX_ROWS:,}"]),
    ("csv-is-an-image", "text/csv", b"\x89PNG\r\n\x1a\n" + b"\0" * 64, 400, ["PNG"]),
]


@pytest.mark.parametrize(("content_type", "payload", "status", "words"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_body_gets_a_one_line_reason(service, content_type, payload, status, words):
    headers = {"Content-Type": content_type} if content_type else {}
    reply = service.client().request("POST", "/predict", payload, headers)
    assert_one_line(reply.status, reply.body, status, words)


def test_a_declared_body_over_the_limit_is_refused_before_it_is_read(service):
    head = (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON}\r\n"
            f"Content-Length: {LIMIT + 1}\r\nConnection: close\r\n\r\n").encode()
    status, reply = raw_exchange(service.host, service.port, head)  # the body never comes: no need to wait for it
    assert_one_line(status, reply, 413, [f"{LIMIT + 1:,} bytes", f"{LIMIT:,}-byte limit"])


def test_a_streamed_body_over_the_limit_is_refused_while_it_arrives(service):
    chunk = b"x" * 65536
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(LIMIT // len(chunk) + 2))
    head = (f"POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {JSON}\r\n"
            "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n").encode()
    status, reply = raw_exchange(service.host, service.port, head + chunks + b"0\r\n\r\n")
    assert_one_line(status, reply, 413, [f"more than {LIMIT:,} bytes"])


def test_unknown_paths_and_methods_get_one_line_too(service):
    client = service.client()
    reply = client.get("/admin")
    assert_one_line(reply.status, reply.body, 404, ["'/admin'", "POST /predict"])
    reply = client.get("/predict")
    assert_one_line(reply.status, reply.body, 405, ["GET", "/predict"])


def test_none_of_the_bad_requests_was_a_server_error(service, churn_rows):
    client = service.client()
    assert client.post_json("/predict", {"rows": records(churn_rows.head(2))}).status == 200
    families = text_string_to_metric_families(client.get("/metrics").body.decode())
    statuses = {s.labels["status"] for f in families if f.name == "scoring_requests" for s in f.samples
                if s.name == "scoring_requests_total"}
    assert "500" not in statuses and {"400", "413", "415", "422"} <= statuses


def assert_one_line(status: int, body: bytes, expected_status: int, words: list[str]) -> None:
    assert status == expected_status, body
    detail = json.loads(body)["detail"]
    assert isinstance(detail, str) and "\n" not in detail and "Traceback" not in detail and len(detail) < 400
    for word in words:
        assert word in detail, detail
