"""The rules file's optional ``status_page`` block: which services are shown on
the public status page, and how (app/statuspage).

A service is public only when this block names it: services come from alert
labels and routes, which are internal words, so nothing reaches the page
unless someone chose its public name. A component is a service with a public
name, a description, a group and an order::

    status_page:
      name: Example Status
      url: https://status.example.com
      components:
        - service: payments
          name: Payments
          description: Card payments and checkout
          group: Shopping
          order: 1
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from app.yamlfile import ItemError


class StatusComponent(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    service: str = Field(min_length=1, max_length=200)
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    group: str | None = Field(default=None, min_length=1, max_length=100)
    order: int = Field(default=0, ge=-10_000, le=10_000)


class StatusPageConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field(default="Status", min_length=1, max_length=100)
    # Where the public reaches the page (its feeds and JSON link to it).
    url: str | None = Field(default=None, max_length=500)
    components: list[StatusComponent] = Field(default_factory=list)

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str | None) -> str | None:
        if url is not None and not url.startswith(("https://", "http://")):
            raise ValueError("must be an http:// or https:// URL")
        return url.rstrip("/") if url else url

    @field_validator("components")
    @classmethod
    def _unique(cls, components: list[StatusComponent]) -> list[StatusComponent]:
        services: set[str] = set()
        names: set[str] = set()
        for index, component in enumerate(components):
            if component.service in services:
                raise ItemError(
                    f"service {component.service!r} is listed twice", (index, "service")
                )
            if component.name in names:
                raise ItemError(f"public name {component.name!r} is used twice", (index, "name"))
            services.add(component.service)
            names.add(component.name)
        return components

    def component(self, service: str) -> StatusComponent | None:
        return next((c for c in self.components if c.service == service), None)

    def ordered(self) -> list[StatusComponent]:
        """Components in page order: by group (ungrouped first, groups in the
        order of their first member), then by ``order``, then as listed."""
        first_seen: dict[str | None, int] = {}
        for index, component in enumerate(self.components):
            first_seen.setdefault(component.group, -1 if component.group is None else index)
        indexed = list(enumerate(self.components))
        indexed.sort(key=lambda pair: (first_seen[pair[1].group], pair[1].order, pair[0]))
        return [component for _, component in indexed]
