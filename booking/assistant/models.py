"""FAQ entries that managers edit: question and answer in German and English, for the
whole town (no office) or one office."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from booking.db import UTCDateTime, db


class FaqEntry(db.Model):
    __tablename__ = "faq_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    office_id: Mapped[str | None] = mapped_column(
        ForeignKey("offices.id", ondelete="CASCADE"), index=True)
    question_de: Mapped[str] = mapped_column(String(300))
    answer_de: Mapped[str]
    question_en: Mapped[str] = mapped_column(String(300), default="")
    answer_en: Mapped[str] = mapped_column(default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    def text(self, field: str, language: str) -> str:
        value = getattr(self, f"{field}_{'en' if language == 'en' else 'de'}")
        return value or getattr(self, f"{field}_de")
