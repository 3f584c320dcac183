"""The batch endpoints: queue many articles (or a feed) at once, then watch their progress."""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, Field, ValidationError, model_validator

from audio_service import ids
from audio_service.article import parse_json
from audio_service.batch import runs as batch
from audio_service.batch.sources import SourceItem, read_source
from audio_service.errors import InputError
from audio_service.http.deps import WRITE, ServiceDep, UrlsDep, read_body
from audio_service.http.models import ArticleIn, ErrorBody
from audio_service.http.urls import Urls

router = APIRouter(prefix="/v1/batches", tags=["batches"])

MAX_ARTICLES = 10_000
BatchId = Annotated[
    str, Path(pattern=ids.anchored(ids.BATCH_ID), description="As returned by POST")
]
Status = Literal["queued", "rendering", "ready", "skipped", "superseded", "failed"]


class BatchArticleIn(ArticleIn):
    id: str = Field(pattern=ids.anchored(ids.ARTICLE_ID), examples=["council-budget-2026"])


class BatchIn(BaseModel):
    """Either `articles` or `feed_url` (an RSS/Atom feed whose items carry the body)."""

    articles: list[BatchArticleIn] | None = Field(None, max_length=MAX_ARTICLES)
    feed_url: str | None = Field(None, examples=["https://news.example/feeds/today.xml"])
    callback_url: str | None = Field(
        None, description="Gets a signed POST (article.ready / article.failed) per article"
    )
    voice: str | None = Field(None, description="Voice id for every article in the batch")

    @model_validator(mode="after")
    def _one_source(self) -> BatchIn:
        if (self.articles is None) == (self.feed_url is None):
            raise ValueError("give either articles or feed_url, not both or neither")
        return self


class Counts(BaseModel):
    queued: int
    rendering: int
    ready: int
    skipped: int = Field(description="Already current when the batch came in")
    superseded: int = Field(description="A newer version came in before this one rendered")
    failed: int


class BatchItemOut(BaseModel):
    id: str
    status: Status
    error: str | None
    estimated_seconds: float | None
    audio: str = Field(description="The article's audio URL")


class BatchOut(BaseModel):
    id: str
    source: str
    created: float = Field(description="Unix time")
    finished: bool = Field(description="No article is queued or rendering")
    counts: Counts
    articles: list[BatchItemOut]


def _inline(schema: dict[str, Any]) -> dict[str, Any]:
    """A model's JSON Schema with its `$defs` written in place: a request body given through
    openapi_extra sits inside the OpenAPI document, where "#/$defs/..." resolves to nothing."""
    defs = schema.pop("$defs", {})

    def resolve(node: Any) -> Any:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {k: resolve(v) for k, v in node.items()}
        if isinstance(node, list):
            return [resolve(v) for v in node]
        return node

    resolved: dict[str, Any] = resolve(schema)
    return resolved


def _body_schema() -> dict[str, Any]:
    """BatchIn as documented: exactly one of `articles` and `feed_url` (the API also takes an
    explicit null for the other one, as absent)."""
    schema = _inline(BatchIn.model_json_schema())
    props = schema["properties"]
    for name in ("articles", "feed_url"):
        options = props[name].pop("anyOf")
        props[name].update(next(o for o in options if o.get("type") != "null"))
        props[name].pop("default", None)
    schema["oneOf"] = [
        {"required": ["articles"], "not": {"required": ["feed_url"]}},
        {"required": ["feed_url"], "not": {"required": ["articles"]}},
    ]
    return schema


def _out(state: batch.BatchStatus, only: str | None, urls: Urls) -> BatchOut:
    items = [i for i in state.items if only is None or i.status == only]
    return BatchOut(
        id=state.id,
        source=state.source,
        created=state.created,
        finished=state.finished,
        counts=Counts(**state.counts),
        articles=[
            BatchItemOut(
                id=i.article_id,
                status=i.status,
                error=i.error,
                estimated_seconds=i.seconds_estimate,
                audio=urls.article_audio(i.article_id),
            )
            for i in items
        ],
    )


def _items(body: BatchIn, max_chars: int) -> tuple[list[SourceItem], str]:
    if body.feed_url is not None:
        if not body.feed_url.startswith(("http://", "https://")):
            raise InputError("feed_url must be an http(s) URL")
        return read_source(body.feed_url, max_chars=max_chars), body.feed_url
    items = []
    for given in body.articles or []:
        raw = given.model_dump(exclude={"id"}, exclude_none=True)
        try:
            items.append(SourceItem(given.id, parse_json(json.dumps(raw), max_chars=max_chars)))
        except InputError as exc:
            items.append(SourceItem(given.id, None, str(exc)))
    return items, "api"


@router.post(
    "",
    status_code=202,
    response_model=BatchOut,
    dependencies=[WRITE],
    summary="Queue a batch of articles, or every item of a feed",
    description=(
        "Records every article and queues the renders needed; articles whose audio is "
        "current are skipped, unreadable ones are reported as failed without stopping the "
        "others. Returns at once; follow progress with GET /v1/batches/{id}."
    ),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _body_schema()}},
        }
    },
    responses={
        401: {"model": ErrorBody, "description": "API key required"},
        413: {"model": ErrorBody, "description": "Request body larger than the limit"},
        422: {"model": ErrorBody, "description": "Invalid batch, callback URL or feed"},
    },
)
async def post_batch(request: Request, svc: ServiceDep, urls: UrlsDep) -> BatchOut:
    data = await read_body(request, svc.settings.max_request_bytes)
    try:
        body = BatchIn.model_validate_json(data)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'body'}: {e['msg']}" for e in exc.errors()
        )
        raise InputError(problems) from None
    items, source = await asyncio.to_thread(_items, body, svc.settings.max_article_chars)
    if not items:
        raise InputError("the batch has no articles")
    batch_id = await asyncio.to_thread(
        batch.submit, svc, items, source, callback_url=body.callback_url, voice=body.voice
    )
    return _out(await asyncio.to_thread(batch.status, svc, batch_id), None, urls)


@router.get(
    "/{batch_id}",
    response_model=BatchOut,
    summary="Progress of a batch: counts and each article's status",
    responses={404: {"model": ErrorBody, "description": "Unknown batch"}},
)
async def get_batch(
    batch_id: BatchId,
    svc: ServiceDep,
    urls: UrlsDep,
    status: Annotated[Status | None, Query(description="Only articles in this state")] = None,
) -> BatchOut:
    return _out(await asyncio.to_thread(batch.status, svc, batch_id), status, urls)
