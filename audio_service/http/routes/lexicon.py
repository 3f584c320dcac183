"""The lexicon endpoints: publishers add pronunciation rules without a deploy."""

from __future__ import annotations

import asyncio
from typing import Annotated

from fastapi import APIRouter, Path
from fastapi.responses import Response
from pydantic import BaseModel, Field

from audio_service import ids
from audio_service.errors import NotFoundError
from audio_service.http.deps import WRITE, ServiceDep
from audio_service.http.models import ErrorBody
from audio_service.text import lexicon

router = APIRouter(prefix="/v1/lexicon", tags=["lexicon"])

Scope = Annotated[
    str,
    Path(
        pattern=ids.anchored(ids.LEXICON_SCOPE),
        description="common, en-GB, en-US or a voice id",
    ),
]
_ERRORS: dict[int | str, dict[str, object]] = {
    401: {"model": ErrorBody, "description": "API key required"},
    404: {"model": ErrorBody, "description": "No such rule"},
}


class RuleIn(BaseModel):
    replacement: str = Field(
        min_length=1,
        max_length=200,
        description="A respelling eSpeak reads right, or eSpeak phonemes as [[...]]",
        examples=["zeh-lensky"],
    )
    case_sensitive: bool = False


class RuleOut(BaseModel):
    scope: str
    word: str
    replacement: str
    case_sensitive: bool
    origin: str = Field(description="shipped (read-only) or publisher (editable here)")


class RuleSaved(RuleOut):
    rerenders_queued: int = Field(
        description="Articles whose audio this change alters, queued to render again"
    )


_RERENDER = (
    " Articles whose text contains the word, in the rule's scope (common: every voice; "
    "en-GB or en-US: articles in that locale; a voice id: that voice's articles), get a "
    "new version that renders in the background through the job queue; their old audio "
    "keeps being served until the new one is ready. Articles the rule does not change "
    "are not rendered again (the cache key holds only the rules an article uses)."
)


def _rules(svc: ServiceDep, scope: str | None) -> list[RuleOut]:
    out: list[RuleOut] = []
    for origin, folder in zip(("shipped", "publisher"), svc.settings.lexicon_dirs, strict=True):
        scopes = [scope] if scope else sorted(p.stem for p in folder.glob("*.tsv"))
        for name in scopes:
            out.extend(
                RuleOut(
                    scope=name,
                    word=r.word,
                    replacement=r.replacement,
                    case_sensitive=r.case_sensitive,
                    origin=origin,
                )
                for r in lexicon.list_rules(folder, name)
            )
    return out


@router.get("", response_model=list[RuleOut], summary="Every pronunciation rule")
async def all_rules(svc: ServiceDep) -> list[RuleOut]:
    return await asyncio.to_thread(_rules, svc, None)


@router.get("/{scope}", response_model=list[RuleOut], summary="The rules of one scope")
async def scope_rules(scope: Scope, svc: ServiceDep) -> list[RuleOut]:
    return await asyncio.to_thread(_rules, svc, scope)


@router.put(
    "/{scope}/{word}",
    response_model=RuleSaved,
    dependencies=[WRITE],
    responses=_ERRORS,
    summary="Add or replace a publisher rule",
    description="Takes effect on every render from now on." + _RERENDER,
)
async def put_rule(scope: Scope, word: str, body: RuleIn, svc: ServiceDep) -> RuleSaved:
    folder = svc.settings.lexicon_dirs[1]
    flags = "case" if body.case_sensitive else ""
    rule = await asyncio.to_thread(lexicon.add_rule, folder, scope, word, body.replacement, flags)
    svc.scripter.reload()
    queued = await asyncio.to_thread(svc.relexicon, scope, rule.word)
    return RuleSaved(
        scope=scope,
        word=rule.word,
        replacement=rule.replacement,
        case_sensitive=rule.case_sensitive,
        origin="publisher",
        rerenders_queued=queued,
    )


@router.delete(
    "/{scope}/{word}",
    status_code=204,
    dependencies=[WRITE],
    responses={
        **_ERRORS,
        204: {
            "description": "Removed",
            "headers": {
                "Rerenders-Queued": {
                    "description": "Articles queued to render again",
                    "schema": {"type": "integer"},
                }
            },
        },
    },
    summary="Remove a publisher rule",
    description="The word is read as before the rule (or by a shipped rule) from now on."
    + _RERENDER
    + " The number queued is in the Rerenders-Queued header.",
)
async def delete_rule(scope: Scope, word: str, svc: ServiceDep) -> Response:
    folder = svc.settings.lexicon_dirs[1]
    if not await asyncio.to_thread(lexicon.remove_rule, folder, scope, word):
        raise NotFoundError(f"no publisher rule for {word!r} in {scope!r}")
    svc.scripter.reload()
    queued = await asyncio.to_thread(svc.relexicon, scope, " ".join(word.split()))
    return Response(status_code=204, headers={"Rerenders-Queued": str(queued)})
