"""SQLAlchemy models, one module per domain. Importing this package registers them all."""
from flask_appbuilder import Model  # noqa: F401  FAB's declarative base, shared by every model

from app import audit  # noqa: F401,E402  the operation-log hooks must be in place before the mappers configure
from models import system, customers, customer_records, ledger  # noqa: F401,E402
from models import system_scope  # noqa: F401,E402
from models import customer_finance  # noqa: F401,E402
from models import customer_relations  # noqa: F401,E402
from models import attachments, customer_extras  # noqa: F401,E402
from models import approval  # noqa: F401,E402  issue 4: the approval engine (wf_*)
from models import products  # noqa: F401,E402  issue 4: biz_product, biz_bank
from models import business  # noqa: F401,E402  issue 4: biz_guarantee and its child records
from models import documents  # noqa: F401,E402  issue 4: biz_document_template
from models import rating  # noqa: F401,E402  issue 6: scoring models, ratings, batches (rat_*)
from models import credit_limits  # noqa: F401,E402  issue 6: rat_credit_limit
from models import office_requests, corrections  # noqa: F401,E402  issue 9: oa_request, oa_repayment, sys_data_correction
from models import office  # noqa: F401,E402  issue 9: messages, address books, cabinets, help (oa_*)
from models import statistics  # noqa: F401,E402  issue 8: workbench desktop, weight table, regulatory snapshots
from models import portal  # noqa: F401,E402  issue 10: online financing portal (ptl_*)
from models import post_guarantee  # noqa: F401,E402  issue 7: post-guarantee management (post_*)
from models import post_settlement  # noqa: F401,E402  issue 7: compensation, recovery, foreclosed assets, release, extension (pst_*)
from models import collateral  # noqa: F401,E402  issue 7: collateral registry, certificates, valuations (col_*)
