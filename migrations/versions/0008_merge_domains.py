"""Join the domain branches (ledger, customer file, statements, relations, attachments, data scope)
into one head, so later revisions and `flask db migrate` have a single parent.

Revision ID: 0008
Revises: 0002, 0003, 0004, 0005, 0006, 0007
"""
revision = "0008"
down_revision = ("0002", "0003", "0004", "0005", "0006", "0007")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
