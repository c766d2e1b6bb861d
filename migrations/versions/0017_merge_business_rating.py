"""Join the branches of the approval engine, products and guarantees, document templates, ratings and
credit limits into one head.

Revision ID: 0017
Revises: 0009, 0011, 0012, 0015, 0016
"""
revision = "0017"
down_revision = ("0009", "0011", "0012", "0015", "0016")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
