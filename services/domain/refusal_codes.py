"""Every refusal code of the domain, grouped by kind. A code is data: its kind says what went
wrong (something named does not exist, exists already, ...), and the HTTP shell derives the
status from the kind alone (`services/api/problems.py`). README.md lists every code; a unit test
holds the two to each other.

A `Code` is a `str` (it compares equal to its text and is written as it), carrying its `kind`.
"""

from __future__ import annotations

from enum import Enum


class Kind(Enum):
    NOT_FOUND = "not found"
    """The resource the command acts on does not exist."""
    EXISTS = "already exists"
    """What the command would create, or do, exists or was done already."""
    TAKEN = "conflict"
    """A unique key (a short code, a document number) belongs to another."""
    GONE = "gone"
    """What the request names existed once and no longer can be used."""
    UNKNOWN_REFERENCE = "unknown reference"
    """The command names another thing (a parent, a recipient, a source) that does not exist."""
    INVALID = "invalid"
    """A value of the command is malformed or out of bounds, whatever the state."""
    RULE = "rule broken"
    """The command is well formed but the state (or a rule of the campaign) forbids it."""


class Code(str):
    """A refusal code: its text (the problem type's last segment) and its kind."""

    kind: Kind

    def __new__(cls, text: str, kind: Kind) -> Code:
        code = super().__new__(cls, text)
        code.kind = kind
        return code


ALL: dict[str, Code] = {}
"""Every code by its text."""


def _code(text: str, kind: Kind) -> Code:
    assert text not in ALL, f"refusal code {text} is defined twice"
    ALL[text] = Code(text, kind)
    return ALL[text]


def by_kind(kind: Kind) -> list[Code]:
    return [code for code in ALL.values() if code.kind is kind]


# -- not found ------------------------------------------------------------------------------
UNKNOWN_UNIT = _code("unknown-unit", Kind.NOT_FOUND)
UNKNOWN_USER = _code("unknown-user", Kind.NOT_FOUND)
UNKNOWN_ROLE = _code("unknown-role", Kind.NOT_FOUND)
UNKNOWN_PLAN = _code("unknown-plan", Kind.NOT_FOUND)
UNKNOWN_ASSIGNMENT = _code("unknown-assignment", Kind.NOT_FOUND)
UNKNOWN_SUBMISSION = _code("unknown-submission", Kind.NOT_FOUND)
UNKNOWN_EXTENSION = _code("unknown-extension", Kind.NOT_FOUND)
UNKNOWN_OBSTACLE = _code("unknown-obstacle", Kind.NOT_FOUND)
UNKNOWN_MODEL = _code("unknown-model", Kind.NOT_FOUND)
UNKNOWN_SUBSCRIPTION = _code("unknown-subscription", Kind.NOT_FOUND)

# -- already exists -------------------------------------------------------------------------
UNIT_EXISTS = _code("unit-exists", Kind.EXISTS)
USER_EXISTS = _code("user-exists", Kind.EXISTS)
ROLE_ALREADY_GRANTED = _code("role-already-granted", Kind.EXISTS)
PLAN_EXISTS = _code("plan-exists", Kind.EXISTS)
ATTACHMENT_EXISTS = _code("attachment-exists", Kind.EXISTS)
ITEM_EXISTS = _code("item-exists", Kind.EXISTS)
ALREADY_LINKED = _code("already-linked", Kind.EXISTS)
ASSIGNMENT_EXISTS = _code("assignment-exists", Kind.EXISTS)
SUBMISSION_EXISTS = _code("submission-exists", Kind.EXISTS)
EXTENSION_EXISTS = _code("extension-exists", Kind.EXISTS)
OBSTACLE_EXISTS = _code("obstacle-exists", Kind.EXISTS)
MODEL_EXISTS = _code("model-exists", Kind.EXISTS)
REPORT_EXISTS = _code("report-exists", Kind.EXISTS)
ALREADY_COMMENDED = _code("already-commended", Kind.EXISTS)
SUBSCRIPTION_EXISTS = _code("subscription-exists", Kind.EXISTS)

# -- conflict: a unique key taken -----------------------------------------------------------
DUPLICATE_SHORT_CODE = _code("duplicate-short-code", Kind.TAKEN)
DOCUMENT_NUMBER_TAKEN = _code("document-number-taken", Kind.TAKEN)
CONFUSABLE_SHORT_CODE = _code("confusable-short-code", Kind.TAKEN)
"""A short code that looks like a sibling's (NFKC and the confusable skeleton of UTS #39)."""

# -- gone -----------------------------------------------------------------------------------
CURSOR_EPOCH_GONE = _code("cursor-epoch-gone", Kind.GONE)

# -- unknown reference: the command names something that does not exist ---------------------
UNKNOWN_PARENT = _code("unknown-parent", Kind.UNKNOWN_REFERENCE)
UNKNOWN_SUCCESSOR = _code("unknown-successor", Kind.UNKNOWN_REFERENCE)
UNKNOWN_LEAD = _code("unknown-lead", Kind.UNKNOWN_REFERENCE)
UNKNOWN_COORDINATING = _code("unknown-coordinating", Kind.UNKNOWN_REFERENCE)
UNKNOWN_REPORT_TO = _code("unknown-report-to", Kind.UNKNOWN_REFERENCE)
UNKNOWN_ROLE_UNIT = _code("unknown-role-unit", Kind.UNKNOWN_REFERENCE)
UNKNOWN_UNIT_REF = _code("unknown-unit-ref", Kind.UNKNOWN_REFERENCE)
UNKNOWN_RECIPIENT = _code("unknown-recipient", Kind.UNKNOWN_REFERENCE)
UNKNOWN_ISSUER = _code("unknown-issuer", Kind.UNKNOWN_REFERENCE)
UNKNOWN_SOURCE = _code("unknown-source", Kind.UNKNOWN_REFERENCE)
UNKNOWN_SUB_PLAN = _code("unknown-sub-plan", Kind.UNKNOWN_REFERENCE)
UNKNOWN_PHASE = _code("unknown-phase", Kind.UNKNOWN_REFERENCE)
UNKNOWN_EVENT_TYPE = _code("unknown-event-type", Kind.UNKNOWN_REFERENCE)
UNKNOWN_CATEGORY = _code("unknown-category", Kind.UNKNOWN_REFERENCE)

# -- invalid: a malformed or out-of-bounds value --------------------------------------------
INVALID_NAME = _code("invalid-name", Kind.INVALID)
INVALID_SHORT_CODE = _code("invalid-short-code", Kind.INVALID)
INVALID_SPLIT = _code("invalid-split", Kind.INVALID)
INVALID_ROLE = _code("invalid-role", Kind.INVALID)
INVALID_YEAR = _code("invalid-year", Kind.INVALID)
INVALID_PHASE = _code("invalid-phase", Kind.INVALID)
INVALID_REVIEW_STEPS = _code("invalid-review-steps", Kind.INVALID)
INVALID_ESCALATION_POLICY = _code("invalid-escalation-policy", Kind.INVALID)
INVALID_IMPLEMENTS = _code("invalid-implements", Kind.INVALID)
INVALID_DOCUMENT_NUMBER = _code("invalid-document-number", Kind.INVALID)
INVALID_ATTACHMENT = _code("invalid-attachment", Kind.INVALID)
INVALID_PERCENT = _code("invalid-percent", Kind.INVALID)
INVALID_SECRET = _code("invalid-secret", Kind.INVALID)
INVALID_DATE = _code("invalid-date", Kind.INVALID)
INVALID_DUE = _code("invalid-due", Kind.INVALID)
INVALID_DUE_TEXT = _code("invalid-due-text", Kind.INVALID)
INVALID_GROUP = _code("invalid-group", Kind.INVALID)
INVALID_ADDRESSEE = _code("invalid-addressee", Kind.INVALID)
INVALID_ANNEX = _code("invalid-annex", Kind.INVALID)
INVALID_COORDINATING_TEXT = _code("invalid-coordinating-text", Kind.INVALID)
INVALID_REPORT_ROUTE = _code("invalid-report-route", Kind.INVALID)
INVALID_EMAIL = _code("invalid-email", Kind.INVALID)
INVALID_PHONE = _code("invalid-phone", Kind.INVALID)
INVALID_IMPORT = _code("invalid-import", Kind.INVALID)
EMPTY_IMPORT = _code("empty-import", Kind.INVALID)
DUPLICATE_REF = _code("duplicate-ref", Kind.INVALID)
DUPLICATE_RECIPIENT = _code("duplicate-recipient", Kind.INVALID)
METRIC_OVERFLOW = _code("metric-overflow", Kind.INVALID)
INVALID_METRICS = _code("invalid-metrics", Kind.INVALID)
DATE_OUT_OF_RANGE = _code("date-out-of-range", Kind.INVALID)
SECRET_REQUIRED = _code("secret-required", Kind.INVALID)
TARGET_REFUSED = _code("target-refused", Kind.INVALID)
# A text field out of bounds (`services/domain/rules.text`): invalid-<what the field is>.
INVALID_ATTACHMENT_NAME = _code("invalid-attachment-name", Kind.INVALID)
INVALID_CITATION = _code("invalid-citation", Kind.INVALID)
INVALID_DELIVERABLE = _code("invalid-deliverable", Kind.INVALID)
INVALID_DESCRIPTION = _code("invalid-description", Kind.INVALID)
INVALID_DIRECTION = _code("invalid-direction", Kind.INVALID)
INVALID_FIELD = _code("invalid-field", Kind.INVALID)
INVALID_ITEM = _code("invalid-item", Kind.INVALID)
INVALID_NOTE = _code("invalid-note", Kind.INVALID)
INVALID_PLACE = _code("invalid-place", Kind.INVALID)
INVALID_REASON = _code("invalid-reason", Kind.INVALID)
INVALID_SIGNER = _code("invalid-signer", Kind.INVALID)
INVALID_SIGNER_TITLE = _code("invalid-signer-title", Kind.INVALID)
INVALID_TEXT = _code("invalid-text", Kind.INVALID)
INVALID_TITLE = _code("invalid-title", Kind.INVALID)

# -- rule broken: the state or a rule of the campaign forbids the command -------------------
UNIT_INACTIVE = _code("unit-inactive", Kind.RULE)
PARENT_INACTIVE = _code("parent-inactive", Kind.RULE)
SUCCESSOR_INACTIVE = _code("successor-inactive", Kind.RULE)
LEAD_INACTIVE = _code("lead-inactive", Kind.RULE)
COORDINATING_INACTIVE = _code("coordinating-inactive", Kind.RULE)
REPORT_TO_INACTIVE = _code("report-to-inactive", Kind.RULE)
ROLE_UNIT_INACTIVE = _code("role-unit-inactive", Kind.RULE)
UNIT_REF_INACTIVE = _code("unit-ref-inactive", Kind.RULE)
RECIPIENT_INACTIVE = _code("recipient-inactive", Kind.RULE)
ISSUER_INACTIVE = _code("issuer-inactive", Kind.RULE)
CYCLE = _code("cycle", Kind.RULE)
HAS_CHILDREN = _code("has-children", Kind.RULE)
NOTHING_CHANGED = _code("nothing-changed", Kind.RULE)
SAME_UNIT = _code("same-unit", Kind.RULE)
SAME_PLAN = _code("same-plan", Kind.RULE)
OPEN_TASKS_NEED_SUCCESSOR = _code("open-tasks-need-successor", Kind.RULE)
PLAN_DRAFT = _code("plan-draft", Kind.RULE)
PLAN_ISSUED = _code("plan-issued", Kind.RULE)
PLAN_ENDED = _code("plan-ended", Kind.RULE)
PLAN_TAKES_NO_TASKS = _code("plan-takes-no-tasks", Kind.RULE)
IMPLEMENTED_PLAN_NOT_ISSUED = _code("implemented-plan-not-issued", Kind.RULE)
SUCCESSOR_NOT_ISSUED = _code("successor-not-issued", Kind.RULE)
SUB_PLAN_NOT_ISSUED = _code("sub-plan-not-issued", Kind.RULE)
NOT_A_LOWER_UNIT = _code("not-a-lower-unit", Kind.RULE)
NUMBER_KIND_MISMATCH = _code("number-kind-mismatch", Kind.RULE)
NUMBER_YEAR_MISMATCH = _code("number-year-mismatch", Kind.RULE)
ISSUE_DATE_IN_FUTURE = _code("issue-date-in-future", Kind.RULE)
EFFECTIVE_IN_FUTURE = _code("effective-in-future", Kind.RULE)
EFFECTIVE_BEFORE_ISSUE = _code("effective-before-issue", Kind.RULE)
BACKDATING_NOT_ALLOWED = _code("backdating-not-allowed", Kind.RULE)
ASSIGNMENT_CLOSED = _code("assignment-closed", Kind.RULE)
ALREADY_ACKNOWLEDGED = _code("already-acknowledged", Kind.RULE)
LEAD_ALSO_COORDINATING = _code("lead-also-coordinating", Kind.RULE)
DUE_IN_PAST = _code("due-in-past", Kind.RULE)
DUE_NOT_LATER = _code("due-not-later", Kind.RULE)
DUE_BEFORE_ISSUE = _code("due-before-issue", Kind.RULE)
DUE_ALREADY_SET = _code("due-already-set", Kind.RULE)
NO_DUE = _code("no-due", Kind.RULE)
EMPTY_GROUP = _code("empty-group", Kind.RULE)
GROUP_TOO_LARGE = _code("group-too-large", Kind.RULE)
EXTENSION_PENDING = _code("extension-pending", Kind.RULE)
EXTENSION_DECIDED = _code("extension-decided", Kind.RULE)
OBSTACLE_RESOLVED = _code("obstacle-resolved", Kind.RULE)
SUBMISSION_PENDING = _code("submission-pending", Kind.RULE)
SUBMISSION_NOT_PENDING = _code("submission-not-pending", Kind.RULE)
STEP_DONE = _code("step-done", Kind.RULE)
WRONG_STEP = _code("wrong-step", Kind.RULE)
SOURCE_OTHER_PLAN = _code("source-other-plan", Kind.RULE)
SOURCE_NOT_SUB_UNIT = _code("source-not-sub-unit", Kind.RULE)
SOURCE_NOT_APPROVED = _code("source-not-approved", Kind.RULE)
ALREADY_TAKEN = _code("already-taken", Kind.RULE)
DUPLICATE_LEAD = _code("duplicate-lead", Kind.INVALID)
USER_ERASED = _code("user-erased", Kind.RULE)
COMMENDER_NOT_ABOVE = _code("commender-not-above", Kind.RULE)
LEVEL_NOT_OF_TIER = _code("level-not-of-tier", Kind.RULE)
"""A reservation of a scope no code names (none today); answers 422 as it always has."""
