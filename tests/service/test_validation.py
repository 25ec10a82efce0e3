"""What the API validates as the README says: real calendar dates, and the per-file limit.

`published`, `published_from` and `published_to` take YYYY, YYYY-MM or YYYY-MM-DD naming
a day that exists (2024-13-45 and 2024-02-30 are 422); a file over 5 MiB is 413 with a
message naming the per-file limit, below the 6 MiB body limit.
"""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from ingest.corpus import real_date
from ingest.read import MAX_BYTES
from tests.service.conftest import AUTH
from tests.service.test_http_api import assert_error

DOC = {"id": "dated-note", "title": "Dated note", "text": "A court may order an agency to act."}


@pytest.mark.parametrize("date", ["2024-13-45", "2024-02-30", "2023-02-29", "2024-00", "0000"])
def test_impossible_dates_are_refused_in_filters_and_uploads(client: TestClient, date: str) -> None:
    for field in ("published_from", "published_to"):
        body = {"question": "What is mandamus?", "filters": {field: date}}
        error = assert_error(client.post("/v1/ask", json=body), 422, "invalid_request")
        assert "real date" in error["message"]
    upload = client.post("/v1/documents", json={**DOC, "published": date}, headers=AUTH)
    assert_error(upload, 422, "invalid_request")
    form = {"id": "dated-note", "title": "Dated note", "published": date}
    files = {"file": ("note.txt", DOC["text"].encode(), "text/plain")}
    assert_error(client.post("/v1/documents", data=form, files=files, headers=AUTH), 422)


def test_real_dates_are_accepted(client: TestClient) -> None:
    for date in ("2024", "2024-02", "2024-02-29"):
        filters = {"published_from": date, "published_to": "2030-12-31"}
        ask = client.post("/v1/ask", json={"question": "What is mandamus?", "filters": filters})
        assert ask.status_code == 200, ask.text
    upload = client.post("/v1/documents", json={**DOC, "published": "2024-02-29"}, headers=AUTH)
    assert upload.status_code == 201, upload.text


def test_real_date_knows_the_calendar() -> None:
    assert real_date("2000-02-29") and not real_date("1900-02-29")
    assert not real_date("2024-1-01") and not real_date("2024-01-01T00:00")


def test_a_file_over_the_per_file_limit_is_413_naming_it(client: TestClient) -> None:
    data = b"word " * (MAX_BYTES // 5 + 1)  # 5 MiB and a few bytes: under the body limit
    files = {"file": ("big.txt", data, "text/plain")}
    form = {"id": DOC["id"], "title": DOC["title"]}
    response = client.post("/v1/documents", data=form, files=files, headers=AUTH)
    error = assert_error(response, 413, "too_large")
    assert "per-file limit of 5,242,880 bytes (5 MiB)" in error["message"]
