"""When people are on duty: the one reading of CSBOT_AGENT_HOURS (shop time), used by the
bot (what it tells a shopper who asks for a person) and the handoff queue (whether a
request waits for the morning)."""

from __future__ import annotations

from datetime import datetime, time

from django.conf import settings
from django.utils import timezone


def agent_hours() -> tuple[time, time | None]:
    """The configured hours as (start, end); end None means midnight at the end of the
    day ("24:00"). start == end means agents are never on duty."""
    raw = settings.CSBOT_AGENT_HOURS
    try:
        start_raw, end_raw = (part.strip() for part in raw.split("-"))
        start = time.fromisoformat(start_raw)
        end = None if end_raw == "24:00" else time.fromisoformat(end_raw)
    except ValueError as exc:
        raise ValueError(f"CSBOT_AGENT_HOURS must look like 09:00-22:00, got {raw!r}") from exc
    return start, end


def agents_on_duty(*, now: datetime | None = None) -> bool:
    """Whether now (shop time) falls within agent hours."""
    local = timezone.localtime(now or timezone.now()).time()
    start, end = agent_hours()
    if end is None:
        return local >= start
    if start <= end:
        return start <= local < end
    return local >= start or local < end  # hours across midnight


def agent_hours_text(lang: str) -> str:
    start, end = agent_hours()
    end_text = "24:00" if end is None else end.strftime("%H:%M")
    span = f"{start.strftime('%H:%M')}–{end_text}"
    return f"每天 {span}" if lang == "zh" else f"{span} every day"
