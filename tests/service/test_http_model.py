"""The API over the seed corpus with the real embedding model (marked `model`)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.service.conftest import check_answer, document_texts

pytestmark = pytest.mark.model

QUESTIONS = (
    "What is a 287(g) agreement?",
    "What is the task force model?",
    "What is a writ of mandamus?",
    "Can a writ of mandamus stop 287(g) enforcement?",
    "Why do 287(g) agreements make immigrant communities afraid of the police?",
    "Who oversees officers acting under 287(g)?",
    "¿Qué es un acuerdo 287(g)?",
    "My husband was detained by ICE yesterday, what can I do?",
)


@pytest.fixture(scope="module")
def texts(model_client: TestClient) -> dict[str, str]:
    return document_texts(model_client)


@pytest.mark.parametrize("question", QUESTIONS)
def test_answers_are_verbatim_and_cited_to_the_character(
    model_client: TestClient, texts: dict[str, str], question: str
) -> None:
    response = model_client.post("/v1/ask", json={"question": question})
    assert response.status_code == 200
    check_answer(response.json(), texts)


@pytest.mark.parametrize("question", QUESTIONS[:4])
def test_on_topic_questions_are_answered(model_client: TestClient, question: str) -> None:
    body = model_client.post("/v1/ask", json={"question": question}).json()
    assert not body["abstained"] and body["citations"]


H1B = "What is the filing fee for an H-1B petition?"


def test_an_h1b_fee_question_abstains(model_client: TestClient) -> None:
    body = model_client.post("/v1/ask", json={"question": H1B}).json()
    assert body["abstained"] is True
    assert body["abstain_reason"] == "not_covered"
    assert body["sentences"] == [] and body["citations"] == []
    assert "do not answer" in body["answer"]
    page = model_client.get("/", params={"q": H1B}).text
    assert "Not covered by our sources" in page


def test_an_urgent_question_carries_the_urgent_notice(model_client: TestClient) -> None:
    body = model_client.post("/v1/ask", json={"question": QUESTIONS[-1]}).json()
    assert body["urgent"] is True and "attorney" in body["notice"]


def test_the_question_page_over_the_real_model(model_client: TestClient) -> None:
    page = model_client.get("/", params={"q": "What is the task force model?"}).text
    assert 'id="cite-1"' in page and "<mark>" in page
