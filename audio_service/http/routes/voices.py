"""The voices endpoint: which voices the service speaks with, and its default."""

from __future__ import annotations

from fastapi import APIRouter

from audio_service.http.deps import ServiceDep
from audio_service.http.models import VoiceOut

router = APIRouter(prefix="/v1/voices")


@router.get("", response_model=list[VoiceOut], summary="The voices")
async def voices(svc: ServiceDep) -> list[VoiceOut]:
    return [
        VoiceOut(
            id=v.id,
            name=v.name,
            engine=v.engine,
            locale=v.locale,
            rate_wpm=v.rate_wpm,
            description=v.description,
            default=v.id == svc.default_voice.id,
            default_for=sorted(loc for loc, d in svc.choice.by_locale.items() if d.id == v.id),
            gender=v.about.gender,
            quality=v.about.quality,
            licence=v.about.licence,
            credit=v.about.credit,
            rtf=v.about.rtf,
        )
        for v in svc.voices.values()
    ]
