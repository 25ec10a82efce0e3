"""Staff routes: the token, uploads (JSON and multipart), replacement, deletion, and the
allow-list that keeps every other route public on purpose."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from service.deps import require_staff
from tests.service.conftest import AUTH, Dirs, MakeClient, check_answer, document_texts

NEW = {
    "id": "zebra-mandamus-note",
    "title": "A Note on Zebra Mandamus",
    "publisher": "Test Press",
    "kind": "note",
    "published": "2024-05-01",
    "text": "Zebra mandamus is a made-up remedy used only in these tests. "
    "A court grants zebra mandamus when an agency ignores striped petitions.\n\n"
    "Zebra petitions must be filed in triplicate.",
}
# Every route that needs no token, on purpose. A new route must be added here or be staff.
PUBLIC = {
    ("POST", "/v1/ask"),
    ("GET", "/v1/search"),
    ("GET", "/v1/documents"),
    ("GET", "/v1/documents/{document_id}"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("GET", "/"),
    ("GET", "/embed"),  # the visitors' page for other sites' iframes
    ("GET", "/documents/{document_id}"),
    ("GET", "/staff"),  # the page itself; its uploads and deletes call the staff API
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("MOUNT", "/static"),
}
STAFF = {("POST", "/v1/documents"), ("DELETE", "/v1/documents/{document_id}")}


def manifest_ids(corpus: Path) -> list[str]:
    data = tomllib.loads((corpus / "manifest.toml").read_text("utf-8"))
    return [d["id"] for d in data["documents"]]


def test_every_route_is_public_on_purpose_or_staff_only(client: TestClient) -> None:
    def needs_staff(dependant: object) -> bool:
        subs = getattr(dependant, "dependencies", [])
        return any(d.call is require_staff or needs_staff(d) for d in subs)

    seen = set()
    for route in iter_route_contexts(client.app.routes):  # type: ignore[attr-defined]
        methods = route.methods or {"MOUNT"}
        for method in methods - {"HEAD"}:
            key = (method, route.path)
            seen.add(key)
            if key in STAFF:
                assert needs_staff(route.dependant), key
            else:
                assert key in PUBLIC, f"{key} is neither on the public allow-list nor staff-only"
    assert seen == PUBLIC | STAFF  # the enumeration itself found every route


def test_staff_routes_are_off_without_a_configured_token(make_client: MakeClient) -> None:
    client = make_client(staff_token=None)
    for response in (
        client.post("/v1/documents", json=NEW, headers=AUTH),
        client.delete("/v1/documents/task-force-model-mandamus", headers=AUTH),
    ):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "staff_disabled"
        assert "LEXCITE_STAFF_TOKEN" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer wrong-token-wrong-token"},
        {"Authorization": "Basic abc"},
        {"Authorization": f"Bearer {AUTH['Authorization'][7:]}x"},
    ],
)
def test_staff_routes_refuse_a_missing_or_wrong_token(
    client: TestClient, dirs: Dirs, headers: dict[str, str]
) -> None:
    before = manifest_ids(dirs.corpus)
    for response in (
        client.post("/v1/documents", json=NEW, headers=headers),
        client.delete("/v1/documents/task-force-model-mandamus", headers=headers),
    ):
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"].startswith("Bearer")
    assert manifest_ids(dirs.corpus) == before


def test_a_posted_document_is_served_without_a_restart(client: TestClient, dirs: Dirs) -> None:
    before = client.get("/readyz").json()["generation"]
    response = client.post("/v1/documents", json=NEW, headers=AUTH)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "added" and body["added"] == [NEW["id"]] and body["published"]
    assert body["generation"] != before
    listed = {d["id"]: d for d in client.get("/v1/documents").json()["documents"]}
    assert listed[NEW["id"]]["publisher"] == "Test Press"
    assert listed[NEW["id"]]["published"] == "2024-05-01"
    assert client.get("/readyz").json()["generation"] == body["generation"]
    assert NEW["id"] in manifest_ids(dirs.corpus)
    assert (dirs.corpus / "documents" / f"{NEW['id']}.txt").read_text() == NEW["text"]
    answer = client.post("/v1/ask", json={"question": "When is zebra mandamus granted?"}).json()
    assert NEW["id"] in {c["document_id"] for c in answer["citations"]}
    check_answer(answer, document_texts(client))


def test_reposting_the_same_document_changes_nothing(client: TestClient, dirs: Dirs) -> None:
    first = client.post("/v1/documents", json=NEW, headers=AUTH).json()
    manifest = (dirs.corpus / "manifest.toml").read_bytes()
    again = client.post("/v1/documents", json=NEW, headers=AUTH)
    assert again.status_code == 200
    body = again.json()
    assert body["status"] == "unchanged" and not body["published"]
    assert body["generation"] == first["generation"]
    assert (dirs.corpus / "manifest.toml").read_bytes() == manifest


def test_posting_new_content_for_an_id_replaces_it(client: TestClient, dirs: Dirs) -> None:
    client.post("/v1/documents", json=NEW, headers=AUTH)
    changed = {**NEW, "title": "Zebra Mandamus, Revised", "text": NEW["text"] + " Fees are waived."}
    response = client.post("/v1/documents", json=changed, headers=AUTH)
    assert response.status_code == 200 and response.json()["status"] == "changed"
    assert manifest_ids(dirs.corpus).count(NEW["id"]) == 1
    detail = client.get(f"/v1/documents/{NEW['id']}").json()
    assert detail["title"] == "Zebra Mandamus, Revised" and "Fees are waived." in detail["text"]
    # A seed document keeps its file name and aliases when replaced.
    seed = "community-trust-287g-mandamus"
    text = (dirs.corpus / "documents" / "002_5265ddcdfc20e992.txt").read_text("utf-8")
    replaced = {"id": seed, "title": "Community Trust", "text": text + "\nOne more sentence here."}
    assert client.post("/v1/documents", json=replaced, headers=AUTH).json()["status"] == "changed"
    assert (dirs.corpus / "documents" / "002_5265ddcdfc20e992.txt").read_text().endswith("here.")
    assert len(manifest_ids(dirs.corpus)) == 6


def test_a_multipart_upload_is_added_and_a_new_type_replaces_the_old_file(
    client: TestClient, dirs: Dirs
) -> None:
    fields = {k: v for k, v in NEW.items() if k != "text"}
    files = {"file": ("note.txt", NEW["text"].encode(), "text/plain")}
    response = client.post("/v1/documents", data=fields, files=files, headers=AUTH)
    assert response.status_code == 201, response.text
    html = (
        b"<html><body><h1>Zebra</h1><p>Zebra mandamus is now an HTML page here.</p></body></html>"
    )
    files = {"file": ("note.html", html, "text/html")}
    response = client.post("/v1/documents", data=fields, files=files, headers=AUTH)
    assert response.json()["status"] == "changed"
    assert not (dirs.corpus / "documents" / f"{NEW['id']}.txt").exists()
    assert (dirs.corpus / "documents" / f"{NEW['id']}.html").read_bytes() == html
    assert "HTML page" in client.get(f"/v1/documents/{NEW['id']}").json()["text"]


@pytest.mark.parametrize(
    ("name", "data", "status", "words"),
    [
        ("binary.txt", b"\x00\x01\x02binary\x00data", 400, "binary"),
        ("empty.txt", b"", 400, "empty"),
        ("blank.md", b"   \n\n  ", 400, "empty"),
        ("latin1.txt", "Café con leche, señor.".encode("latin-1"), 400, "UTF-8"),
        ("broken.pdf", b"%PDF-1.4 not really a pdf", 400, "PDF"),
        ("report.docx", b"PK\x03\x04 zipped", 415, "unsupported file type"),
        ("noext", b"Plain words here.", 415, "unsupported file type"),
        ("big.txt", b"word " * (1024 * 1024 + 1), 413, "limit"),
    ],
)
def test_bad_uploads_are_refused_with_a_clear_message(
    client: TestClient, dirs: Dirs, name: str, data: bytes, status: int, words: str
) -> None:
    before = (dirs.corpus / "manifest.toml").read_bytes()
    files = {"file": (name, data, "application/octet-stream")}
    response = client.post(
        "/v1/documents", data={"id": "bad-one", "title": "Bad"}, files=files, headers=AUTH
    )
    assert response.status_code == status, response.text
    assert words.lower() in response.json()["error"]["message"].lower()
    assert (dirs.corpus / "manifest.toml").read_bytes() == before
    assert not list((dirs.corpus / "documents").glob("bad-one*"))


@pytest.mark.parametrize(
    "payload",
    [
        {**NEW, "id": "Not A Slug"},
        {**NEW, "id": "../escape"},
        {**NEW, "url": "javascript:alert(1)"},
        {**NEW, "published": "yesterday"},
        {**NEW, "text": ""},
        {**NEW, "format": "docx"},
        {k: v for k, v in NEW.items() if k != "title"},
        {**NEW, "unknown": "field"},
    ],
)
def test_invalid_json_documents_are_422(client: TestClient, payload: dict[str, str]) -> None:
    response = client.post("/v1/documents", json=payload, headers=AUTH)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "invalid_request"


def test_uploads_need_json_or_multipart_and_a_file(client: TestClient) -> None:
    response = client.post(
        "/v1/documents", content=b"id=x", headers={**AUTH, "Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    response = client.post(
        "/v1/documents",
        data={"id": "x-doc", "title": "X"},
        files={"other": ("a.txt", b"Text here.")},
        headers=AUTH,
    )
    assert response.status_code == 422 and "file" in response.json()["error"]["message"]


def test_a_document_with_nothing_left_after_cleaning_is_refused(client: TestClient) -> None:
    response = client.post(
        "/v1/documents", json={**NEW, "text": "<p></p>", "format": "html"}, headers=AUTH
    )
    assert response.status_code == 400


def test_delete_removes_the_document_and_its_file(client: TestClient, dirs: Dirs) -> None:
    client.post("/v1/documents", json=NEW, headers=AUTH)
    response = client.delete(f"/v1/documents/{NEW['id']}", headers=AUTH)
    assert response.status_code == 200
    assert response.json()["status"] == "removed" and response.json()["removed"] == [NEW["id"]]
    assert NEW["id"] not in manifest_ids(dirs.corpus)
    assert not (dirs.corpus / "documents" / f"{NEW['id']}.txt").exists()
    assert client.get(f"/v1/documents/{NEW['id']}").status_code == 404
    ids = {d["id"] for d in client.get("/v1/documents").json()["documents"]}
    assert NEW["id"] not in ids and len(ids) == 5
    missing = client.delete(f"/v1/documents/{NEW['id']}", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_the_last_document_cannot_be_deleted(client: TestClient, dirs: Dirs) -> None:
    ids = manifest_ids(dirs.corpus)
    for document_id in ids[:-1]:
        assert client.delete(f"/v1/documents/{document_id}", headers=AUTH).status_code == 200
    last = client.delete(f"/v1/documents/{ids[-1]}", headers=AUTH)
    assert last.status_code == 409 and last.json()["error"]["code"] == "conflict"
    assert manifest_ids(dirs.corpus) == ids[-1:]


def test_manifest_comments_and_other_entries_survive_edits(client: TestClient, dirs: Dirs) -> None:
    path = dirs.corpus / "manifest.toml"
    original = path.read_text("utf-8")
    client.post("/v1/documents", json=NEW, headers=AUTH)
    client.post("/v1/documents", json={**NEW, "title": "Renamed"}, headers=AUTH)
    client.delete(f"/v1/documents/{NEW['id']}", headers=AUTH)
    assert path.read_text("utf-8") == original
