"""The content library: create and edit contents (by hand, API or feed),
their core tags, and the list of contents an editor still has to complete."""
from __future__ import annotations

from urllib.parse import urlparse

import peewee

from core import Tag, translation_domain, utcnow, write_transaction

from .models import STAGES, Content, ContentTag
from .sanitize import plain_text

MAX_TAGS = 20
MAX_TAG = 100
_ = translation_domain(__name__).gettext


class ContentError(ValueError):
    """Invalid content; ``errors`` maps a field to a message."""

    def __init__(self, errors: dict[str, str]):
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


def is_web_url(value: str) -> bool:
    parsed = urlparse(value or "")
    return parsed.scheme in ("http", "https") and bool(parsed.netloc)


def split_tags(raw) -> list[str]:
    """"CRM, sales efficiency" or a list → unique, trimmed names."""
    items = raw if isinstance(raw, (list, tuple)) else str(raw or "").split(",")
    names: list[str] = []
    for item in items:
        name = " ".join(str(item).split())
        if name and name.lower() not in {n.lower() for n in names}:
            names.append(name)
    return names


def _clean(data: dict, partial: bool, current: Content | None) -> tuple[dict, list[str] | None, dict]:
    errors, values = {}, {}
    if "title" in data or not partial:
        title = " ".join(str(data.get("title") or "").split())
        if not title:
            errors["title"] = _("A title is required.")
        elif len(title) > 500:
            errors["title"] = _("Use at most %(limit)s characters.", limit=500)
        values["title"] = title
    if "url" in data or not partial:
        url = str(data.get("url") or "").strip()
        if not is_web_url(url) or len(url) > 2000:
            errors["url"] = _("Give the content's web address (http:// or https://).")
        else:
            clash = Content.get_or_none(Content.url == url)
            if clash is not None and (current is None or clash.id != current.id):
                errors["url"] = _("Another content already has this address (#%(id)s %(title)s).", id=clash.id,
                                   title=clash.title)
        values["url"] = url
    if "image_url" in data or not partial:
        image = str(data.get("image_url") or "").strip()
        if image and (not is_web_url(image) or len(image) > 2000):
            errors["image_url"] = _("The image must be a web address (http:// or https://).")
        values["image_url"] = image
    if "excerpt" in data or not partial:
        values["excerpt"] = plain_text(str(data.get("excerpt") or ""))[:2000]
    if "score" in data or not partial:
        raw = data.get("score")
        try:
            values["score"] = int(str(raw).strip() or 0) if raw is not None else 0
            if not -1000000 <= values["score"] <= 1000000:
                raise ValueError
        except ValueError:
            errors["score"] = _("The score must be a whole number.")
    if "stage" in data or not partial:
        stage = str(data.get("stage") or "").strip() or None
        if stage is not None and stage not in STAGES:
            errors["stage"] = _("Choose a stage among %(stages)s.", stages=", ".join(STAGES))
        values["stage"] = stage
    if "active" in data:
        values["active"] = data.get("active") in (True, "1", "on", "true", 1)
    tags = None
    if "tags" in data or not partial:
        tags = split_tags(data.get("tags"))
        if len(tags) > MAX_TAGS or any(len(t) > MAX_TAG for t in tags):
            errors["tags"] = _("Use at most %(count)s tags of at most %(limit)s characters.", count=MAX_TAGS,
                               limit=MAX_TAG)
    return values, tags, errors


def save_content(content: Content | None, data: dict, source: str = "manual", partial: bool = False) -> Content:
    """Create (``content=None``) or update a content; raise :class:`ContentError`."""
    values, tags, errors = _clean(data, partial and content is not None, content)
    if errors:
        raise ContentError(errors)
    with write_transaction():
        if content is None:
            content = Content.create(source=source, **values)
        else:
            for key, value in values.items():
                setattr(content, key, value)
            content.updated_at = utcnow()
            content.save()
        if tags is not None:
            set_tags(content, tags)
    return content


def tag_ids(names: list[str]) -> list[int]:
    """Core tag ids for these names, creating the missing tags."""
    ids = []
    for name in names:
        tag = Tag.get_or_none(Tag.name == name)
        if tag is None:
            Tag.insert(name=name).on_conflict_ignore().execute()
            tag = Tag.get(Tag.name == name)
        ids.append(tag.id)
    return ids


def set_tags(content: Content, names: list[str]) -> None:
    ids = tag_ids(names)
    ContentTag.delete().where(ContentTag.content == content.id).execute()
    if ids:
        ContentTag.insert_many([{"content": content.id, "tag": i} for i in ids]).on_conflict_ignore().execute()


def tags_by_content(content_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {i: [] for i in content_ids}
    if not content_ids:
        return found
    query = (ContentTag.select(ContentTag.content, Tag.name).join(Tag)
             .where(ContentTag.content.in_(content_ids)).order_by(Tag.name).tuples())
    for content_id, name in query:
        found[content_id].append(name)
    return found


def incomplete_query():
    """Contents missing an image, an excerpt, a stage or tags (active ones)."""
    has_tags = ContentTag.select(ContentTag.content).distinct()
    return Content.select().where(
        (Content.active == True)  # noqa: E712
        & ((Content.image_url == "") | (Content.excerpt == "") | Content.stage.is_null()
           | Content.id.not_in(has_tags))
    ).order_by(Content.created_at.desc(), Content.id.desc())


def content_json(content: Content, tags: list[str]) -> dict:
    return {
        "id": content.id, "title": content.title, "url": content.url, "image_url": content.image_url,
        "excerpt": content.excerpt, "score": content.score, "stage": content.stage, "tags": tags,
        "source": content.source, "feed_id": content.feed_id, "active": content.active,
        "missing": content.missing(len(tags)),
        "published_at": content.published_at.isoformat() if content.published_at else None,
        "created_at": content.created_at.isoformat(), "updated_at": content.updated_at.isoformat(),
    }


def delete_content(content: Content) -> None:
    """Remove a content; the send log keeps its rows (content set to NULL)."""
    try:
        content.delete_instance()
    except peewee.IntegrityError as error:  # pragma: no cover - FKs are SET NULL / CASCADE
        raise ContentError({"content": str(error)}) from None
