"""The baseline of the tier-2 rows of `npm run bench`: a bare FastAPI + SQLAlchemy app that serves the
same list as a generated service's GET /items, with the same query on the same table.

It is copied into the generated service's folder and served by the same uvicorn from the same
virtualenv, with SQLAlchemy's default pool and no middleware, authentication, rate limit or logging.
The owner is fixed (the generated service takes it from the caller's token).
"""

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from uuid import UUID

from fastapi import FastAPI, Query
from pydantic import BaseModel
from sqlalchemy import DateTime, String, select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

OWNER = os.environ.get("BENCH_OWNER", "bench")


class Base(DeclarativeBase):
    pass


class ItemRow(Base):
    __tablename__ = "items"

    id: Mapped[UUID] = mapped_column(primary_key=True)
    owner: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Item(BaseModel):
    id: UUID
    owner: str
    name: str
    created_at: datetime


class ItemList(BaseModel):
    items: list[Item]


def create_app() -> FastAPI:
    engine = create_async_engine(os.environ["BENCH_DATABASE_URL"])
    sessions = async_sessionmaker(engine, expire_on_commit=False)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        await engine.dispose()

    app = FastAPI(lifespan=lifespan)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/items")
    async def list_items(limit: int = Query(default=20, ge=1, le=100)) -> ItemList:
        async with sessions() as session:
            rows = await session.scalars(
                select(ItemRow)
                .where(ItemRow.owner == OWNER)
                .order_by(ItemRow.created_at.desc(), ItemRow.id.desc())
                .limit(limit)
            )
            items = [
                Item(id=row.id, owner=row.owner, name=row.name, created_at=row.created_at)
                for row in rows
            ]
            return ItemList(items=items)

    return app
