"""Electronic specifications (QC-03, QC-05) and the automatic judgement of a result against them (QC-04).

A QC or QA author drafts a version (signed PERFORMED); a draft may be incomplete. QA approves it, another
person than the author (policies/duties.csv), signed APPROVED: approval refuses a version with a GMP field
missing (title, subject, effective date, items; each item's method, and its unit, limits and rounding rule or
its expected text), makes it EFFECTIVE and supersedes the version effective before for the same subject.
A change is a new version. `judge_result` previews a judgement without writing anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from policies.errors import AppError, ErrorCode
from records.base import utcnow
from records.judgement import Judgement as Judgement
from records.judgement import SpecItem as SpecItem
from records.judgement import Verdict as Verdict  # the value list, for the schema
from records.judgement import check_item, judge
from records.rounding import RoundingKind as RoundingKind
from records.specification import Specification as Specification
from records.specification import SpecificationStatus as SpecificationStatus
from records.specification import SubjectKind as SubjectKind
from resolvers import versions
from resolvers.checks import conflict, invalid, text
from resolvers.context import Context
from resolvers.signed import Signatures, SignedRequest, perform

CODE = re.compile(r"^[A-Z0-9][A-Z0-9_.-]{0,31}$")
MAX_ITEMS = 100


@dataclass(frozen=True)
class SpecificationDraft:
    code: str
    subject_kind: str
    subject_code: str
    title: str = ""
    effective_date: date | None = None
    items: tuple[SpecItem, ...] = ()


def _items(items: Sequence[SpecItem], complete: bool) -> None:
    names = [i.name.strip().casefold() for i in items]
    if len(set(names)) != len(names):
        raise invalid("items: a test item is named twice")
    for i in items:
        try:
            check_item(i, complete)
        except ValueError as e:
            raise invalid(str(e)) from None


def check(d: SpecificationDraft) -> None:
    """What can be told from a draft alone; a draft may still miss fields approval needs."""
    if not CODE.fullmatch(d.code):
        raise invalid(f"code {d.code!r}: 1-32 capitals, digits, '_', '.' or '-'")
    if d.subject_kind not in SubjectKind.__members__:
        raise invalid(f"subjectKind: one of {', '.join(SubjectKind)}")
    text("subjectCode", d.subject_code, 64)
    if len(d.title) > 200:
        raise invalid("title: at most 200 characters")
    if len(d.items) > MAX_ITEMS:
        raise invalid(f"items: at most {MAX_ITEMS}")
    _items(d.items, complete=False)


def complete(row: Specification) -> None:
    """QC-05: every GMP field of a specification is there before it is approved; the refusal names it."""
    for what, value in (("title", row.title), ("subjectCode", row.subject_code)):
        if not value.strip():
            raise invalid(f"{what} is missing")
    if row.effective_date is None:
        raise invalid("effectiveDate is missing")
    if not row.items:
        raise invalid("items are missing: a specification has at least one test item")
    _items(stored_items(row), complete=True)


def stored_items(row: Specification) -> list[SpecItem]:
    known = {f.name for f in fields(SpecItem)}
    return [SpecItem(**{k: v for k, v in i.items() if k in known}) for i in row.items]


def content(r: Specification) -> dict[str, Any]:
    """What a specification signature is bound to: the version as a whole and its status."""
    return {"code": r.code, "version": r.version, "title": r.title, "subjectKind": r.subject_kind,
            "subjectCode": r.subject_code, "status": r.status,
            "effectiveDate": r.effective_date.isoformat() if r.effective_date else None, "items": r.items}


async def _find(s: AsyncSession, code: str, version: int) -> Specification:
    found: Specification = await versions.find(s, Specification, code, version, "specification")
    return found


async def create(ctx: Context, req: SignedRequest, d: SpecificationDraft, change_note: str) -> Specification:
    """A new version (DRAFT), or the open draft of this code rewritten; signed PERFORMED."""
    p = ctx.signed_in()

    async def clean() -> SpecificationDraft:
        text("changeNote (what changed and why)", change_note, 2000)
        check(d)
        return d

    async def save(s: AsyncSession, new: SpecificationDraft, signatures: Signatures[SpecificationDraft]
                   ) -> Specification:
        versions = list((await s.execute(select(Specification).where(Specification.code == new.code)
                                          .order_by(Specification.version.desc()))).scalars())
        if versions and (versions[0].subject_kind, versions[0].subject_code) != (new.subject_kind,
                                                                                   new.subject_code.strip()):
            raise conflict(f"specification {new.code} is for {versions[0].subject_kind} {versions[0].subject_code}")
        row = next((r for r in versions if r.status == SpecificationStatus.DRAFT), None)
        if row is None:
            base = next((r for r in versions if r.status == SpecificationStatus.EFFECTIVE), None)
            row = Specification(code=new.code, version=(versions[0].version + 1) if versions else 1,
                                based_on_id=base.id if base else None, status=SpecificationStatus.DRAFT.value)
            s.add(row)
        row.title, row.subject_kind, row.subject_code = new.title.strip(), new.subject_kind, new.subject_code.strip()
        row.effective_date, row.change_note = new.effective_date, change_note.strip()
        row.items = [asdict(i) for i in new.items]
        row.drafted_by, row.drafted_at = p.username, utcnow()
        await s.flush()
        await signatures.bind(s, "specification", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=change_note.strip(), clean=clean, save=save,
                         conflict="this specification was drafted concurrently; look again")


async def effective(s: AsyncSession, subject_kind: str, subject_code: str) -> Specification:
    """The version in use for a subject (QC-03): results are judged against it and nothing else."""
    r = (await s.execute(select(Specification).where(Specification.effective_key == f"{subject_kind}:{subject_code}"))
         ).scalar_one_or_none()
    if r is None:
        raise conflict(f"{subject_kind.lower()} {subject_code} has no effective specification")
    return r


async def approve(ctx: Context, req: SignedRequest, code: str, version: int, reason: str) -> Specification:
    """QA approves a complete draft (not its author); signed APPROVED. It becomes the effective version of
    its subject and the version effective before is superseded."""
    async def clean() -> Specification:
        text("reason", reason, 2000)
        async with ctx.db.read() as s:
            r = await _find(s, code, version)
        if r.status != SpecificationStatus.DRAFT:
            raise conflict(f"specification {code} version {version} is {r.status}; only a draft is approved")
        complete(r)
        await ctx.require_duty("approve_specification", "specification", str(r.id),
                               "whoever drafted a specification cannot approve it", drafted_by=r.drafted_by)
        return r

    async def save(s: AsyncSession, r: Specification, signatures: Signatures[Specification]) -> Specification:
        row = await _find(s, code, version)
        if row.status != SpecificationStatus.DRAFT or row.drafted_at != r.drafted_at:
            raise conflict("the draft changed meanwhile; look at it again")
        key = f"{row.subject_kind}:{row.subject_code}"
        olds = (await s.execute(select(Specification).where(
            Specification.status == SpecificationStatus.EFFECTIVE,
            or_(Specification.code == code, Specification.effective_key == key)))).scalars()
        for old in olds:
            old.status, old.effective_key = SpecificationStatus.SUPERSEDED.value, None
        await s.flush()  # the old key is free before the new version takes it
        row.status, row.effective_key = SpecificationStatus.EFFECTIVE.value, key
        row.approved_by, row.approved_at = signatures.signer, utcnow()
        await s.flush()
        await signatures.bind(s, "specification", str(row.id), content(row))
        return row

    return await perform(ctx, req, reason=reason.strip(), clean=clean, save=save, meanings=("APPROVED",),
                         conflict="another version was approved meanwhile; look again")


# --- reads -------------------------------------------------------------------------------------------

async def get(ctx: Context, code: str, version: int | None) -> Specification | None:
    """A version, or without one the effective version (else the newest)."""
    found: Specification | None = await versions.version(ctx, Specification, code, version,
                                                          SpecificationStatus.EFFECTIVE)
    return found


async def listing(ctx: Context, subject_code: str | None, status: str | None) -> Sequence[Specification]:
    """Every version, by code and newest version first."""
    return await versions.listing(ctx, Specification, subject_code=subject_code, status=status)


async def judge_result(ctx: Context, code: str, version: int | None, item: str, value: str) -> Judgement:
    """A preview of the judgement a result would get (QC-04): nothing is written. Without a version it is the
    effective one: a draft is judged against only when named (while it is being written)."""
    spec = await get(ctx, code, version)
    if spec is None:
        raise AppError(ErrorCode.NOT_FOUND, f"no specification {code}" + (f" version {version}" if version else ""))
    if version is None and spec.status != SpecificationStatus.EFFECTIVE:
        raise conflict(f"specification {code} has no effective version yet: it is approved before use")
    found = next((i for i in stored_items(spec) if i.name.strip().casefold() == item.strip().casefold()), None)
    if found is None:
        raise AppError(ErrorCode.NOT_FOUND, f"specification {code} version {spec.version} has no item {item!r}")
    try:
        return judge(found, value)
    except ValueError as e:
        raise invalid(str(e)) from None
