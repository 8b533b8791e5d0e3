"""Chat history with chosen timestamps, for dashboard and alert tests."""

from __future__ import annotations

from datetime import datetime, timedelta

from conversations.models import Conversation, Csat, Message
from handoff.models import HandoffRequest


class ChatBuilder:
    """Builds one conversation turn by turn at explicit times."""

    def __init__(self, *, language: str = "zh", visitor: str = "v-fact") -> None:
        self.conversation = Conversation.objects.create(visitor_id=visitor, language=language)
        self.seq = 0

    def _add(self, at: datetime, **fields) -> Message:
        self.seq += 1
        message = Message.objects.create(conversation=self.conversation, seq=self.seq, **fields)
        Message.objects.filter(pk=message.pk).update(created_at=at)
        message.created_at = at
        return message

    def ask(self, text: str, at: datetime) -> Message:
        return self._add(at, sender="shopper", text=text, client_msg_id=f"m{self.seq + 1}")

    def answer(
        self,
        question: Message,
        *,
        after_s: float,
        intent: str | None,
        helpful: bool | None = None,
        arm: str | None = None,
        text: str = "reply",
    ) -> Message:
        payload = {"arm": arm} if arm else {}
        return self._add(
            question.created_at + timedelta(seconds=after_s),
            sender="bot",
            text=text,
            reply_to=question,
            intent=intent,
            confidence=0.9 if intent else 0.2,
            language=self.conversation.language,
            helpful=helpful,
            payload=payload,
        )

    def hand_off(self, question: Message, *, after_s: float = 0.1) -> HandoffRequest:
        at = question.created_at + timedelta(seconds=after_s)
        self._add(
            at, sender="system", kind="handoff", reply_to=question, payload={"status": "queued"}
        )
        handoff = HandoffRequest.objects.create(conversation=self.conversation, reason="complaint")
        HandoffRequest.objects.filter(pk=handoff.pk).update(created_at=at)
        return handoff

    def rate(self, score: int, at: datetime) -> None:
        csat = Csat.objects.create(conversation=self.conversation, score=score)
        Csat.objects.filter(pk=csat.pk).update(created_at=at)
