"""The config keys of a target filter, shared by every notifier kind and every signal kind:
`min_target_followers`, `max_target_followers`, `verified_only`, `include_targets` and
`exclude_targets` (see target_filter.py for what they do)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, PrivateAttr, StrictBool, field_validator, model_validator

from watcher.config_fields import Strict, integer
from watcher.target_filter import TargetFilter, TargetRef, parse_ref

# Beyond any real follower count.
FollowerBound = Annotated[int, integer(0, 10**12)]


class TargetFilterSettings(Strict):
    min_target_followers: FollowerBound | None = None
    max_target_followers: FollowerBound | None = None
    verified_only: StrictBool = False
    include_targets: list[str] = Field(default_factory=list)
    exclude_targets: list[str] = Field(default_factory=list)

    _filter: TargetFilter | None = PrivateAttr(default=None)

    @field_validator("include_targets", "exclude_targets", mode="before")
    @classmethod
    def _accounts(cls, value: Any) -> Any:
        if isinstance(value, list):
            for index, item in enumerate(value):
                try:
                    parse_ref(item)
                except ValueError as exc:
                    raise ValueError(f"[{index}] {exc}") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TargetFilterSettings:
        low, high = self.min_target_followers, self.max_target_followers
        if low is not None and high is not None and low > high:
            raise ValueError(
                f"min_target_followers ({low}) is above max_target_followers ({high}):"
                " no target could pass"
            )
        both = _overlap(self.include_targets, self.exclude_targets)
        if both is not None:
            raise ValueError(f"{both!r} is in both include_targets and exclude_targets")
        return self

    def model_post_init(self, context: Any, /) -> None:
        self._filter = self._compile()

    @property
    def target_filter(self) -> TargetFilter | None:
        """The filter these keys describe; None when they set none (everything passes)."""
        return self._filter

    def _compile(self) -> TargetFilter | None:
        compiled = TargetFilter(
            self.min_target_followers,
            self.max_target_followers,
            self.verified_only,
            tuple(parse_ref(text) for text in self.include_targets),
            tuple(parse_ref(text) for text in self.exclude_targets),
        )
        return None if compiled == TargetFilter() else compiled


def _overlap(include: list[str], exclude: list[str]) -> str | None:
    refs: list[TargetRef] = [parse_ref(text) for text in include]
    for text in exclude:
        ref = parse_ref(text)
        if any(ref.same_account(other) for other in refs):
            return text
    return None
