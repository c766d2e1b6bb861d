"""Join the branches of post-guarantee management (0020), compensation to release (0021), collateral (0022),
office (0023), staff requests and corrections (0024), the portal (0025) and the workbench and statistics (0026)
into one head.

Revision ID: 0027
Revises: 0020, 0021, 0022, 0023, 0024, 0025, 0026
"""
revision = "0027"
down_revision = ("0020", "0021", "0022", "0023", "0024", "0025", "0026")
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
