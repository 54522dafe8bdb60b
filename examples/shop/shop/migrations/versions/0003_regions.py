"""Tables behind the region contract (shop/regional.py): a last-write-wins store and the probe flow.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-25
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "region_kv",
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("ts", sa.Float, nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
    )
    op.create_table(
        "region_customers",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
    )
    op.create_table(
        "region_orders",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column(
            "customer_id", sa.String(200), sa.ForeignKey("region_customers.id"), nullable=False
        ),
        sa.Column("item", sa.String(200), nullable=False),
        sa.Column("region", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("region_orders")
    op.drop_table("region_customers")
    op.drop_table("region_kv")
