"""Each status in plain words: its name, what it means, and what to do next.

Facts come from shared/domain/ukraine-social-services.md §3 (Pension Fund
statuses, appeal period) and §5 (contact centre). Since 1 July 2025 the Pension
Fund assigns and pays social assistance; ЦНАП and social-protection offices
still accept documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.i18n import N_, Translator

STATUSES = (
    "submitted",
    "in_review",
    "needs_documents",
    "approved",
    "rejected",
    "paid",
    "suspended",
    "stopped",
    "extended",
)

#: Demo applications (bot/data/demo/applications.csv) have numbers starting with this,
#: so every text about them can say they are invented.
DEMO_PREFIX = "DEMO"


@dataclass(frozen=True)
class StatusText:
    label: str
    meaning: str
    next_step: str


TEXTS = {
    "submitted": StatusText(
        N_("Submitted"),
        N_("Your application has been received and is waiting for a specialist."),
        N_(
            "You do not need to do anything now. Press “Notify me” and I will tell you "
            "when the status changes."
        ),
    ),
    "in_review": StatusText(
        N_("Under review"),
        N_("A specialist is checking your application and documents."),
        N_(
            "You do not need to do anything now. If the specialist needs more documents, "
            "the status will change to “Documents needed”."
        ),
    ),
    "needs_documents": StatusText(
        N_("Documents needed"),
        N_(
            "Some documents are missing or have mistakes. Your application keeps its "
            "original date only if you bring them by the deadline named in the notice: "
            "check that date."
        ),
        N_(
            "Bring the missing documents (the note names them, if there is one) before the "
            "deadline in the notice, with your ID (passport) and taxpayer number (РНОКПП).\n"
            "Where: any Pension Fund service centre or ЦНАП (administrative service centre). "
            "Or online: portal.pfu.gov.ua → “Мої звернення” → “Замінити документи” → "
            "“Відправити в ПФУ”.\n"
            "Do not know the deadline? Ask the Pension Fund contact centre 0 800 503 753 (free)."
        ),
    ),
    "approved": StatusText(
        N_("Approved"),
        N_("The assistance has been granted."),
        N_(
            "You do not need to do anything. The money will come to the bank account "
            "or card you gave in the application."
        ),
    ),
    "rejected": StatusText(
        N_("Refused"),
        N_("The assistance was refused. The reason is in the note below or in the decision."),
        N_(
            "You can complain to the Pension Fund within 30 calendar days of learning about "
            "the decision: write to the head of the Pension Fund office that decided, or to "
            "a higher Pension Fund office.\n"
            "Going to the administrative court is a separate route with its own deadline: "
            "ask a lawyer or a free legal aid centre about it.\n"
            "Questions: Pension Fund contact centre 0 800 503 753 (free)."
        ),
    ),
    "paid": StatusText(
        N_("Paid"),
        N_("The payment has been made."),
        N_(
            "Check your bank account or card. If the money is not there, call the Pension "
            "Fund contact centre 0 800 503 753 (free)."
        ),
    ),
    "suspended": StatusText(
        N_("Suspended"),
        N_(
            "Payments are paused (призупинено), for example while data are checked or "
            "after a long stay abroad. The assistance has not been cancelled."
        ),
        N_(
            "Find out why: the note below, your Pension Fund web portal account, or the "
            "Pension Fund contact centre 0 800 503 753 (free). Once the reason is removed, "
            "payments can resume."
        ),
    ),
    "stopped": StatusText(
        N_("Stopped"),
        N_(
            "Payments have ended (припинено): the period of the award is over or you no "
            "longer meet the conditions. The reason is in the note below or in the decision."
        ),
        N_(
            "If you think you still have the right to it, apply again, or complain to the "
            "Pension Fund within 30 calendar days of learning about the decision.\n"
            "Questions: Pension Fund contact centre 0 800 503 753 (free)."
        ),
    ),
    "extended": StatusText(
        N_("Extended"),
        N_("The assistance has been extended (продовжено) for a new period."),
        N_("You do not need to do anything. Payments continue to the same bank account or card."),
    ),
}

assert set(TEXTS) == set(STATUSES)


def is_demo(number: str) -> bool:
    return number.strip().upper().startswith(DEMO_PREFIX)


DEMO_NOTICE = N_(
    "⚠️ Demo data: this application is invented so you can try the bot. It is not a real "
    "application and nobody is deciding on it."
)


def label(tr: Translator, status: str) -> str:
    return tr._(TEXTS[status].label) if status in TEXTS else status


def explain(tr: Translator, status: str) -> str:
    """What the status means and what to do next, as one paragraph pair."""
    text = TEXTS.get(status)
    if text is None:
        return ""
    return f"{tr._(text.meaning)}\n\n{tr._(text.next_step)}"
