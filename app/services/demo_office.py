"""Demo data of the office (issue 9): help pages (FAQ, contacts) and two public folders; idempotent."""
from sqlalchemy import func, select


def load_demo_office() -> None:
    from app.extensions import db
    from models.office import CabinetFolder, HelpEntry
    from models.system import Department

    session = db.session
    if session.execute(select(func.count(HelpEntry.id))).scalar() == 0:
        faq = [
            ("如何修改登录密码？", "点击顶部菜单 我的 → 个人设置，输入当前密码和两次新密码。新密码长度不少于系统参数规定的长度，"
                                "且包含小写字母、大写字母、数字、符号中的至少三种。"),
            ("休假期间审批怎么办？", "在 我的 → 个人设置 中设置工作托管，选择受托人和起止日期，期间的待办审批由受托人处理。"),
            ("内部消息和内部邮件有什么区别？", "内部消息用于简短通知，系统通知（如待审批提醒）也在这里；内部邮件用于正式往来，可带附件。"
                                       "两者都可以发给个人、部门或角色。"),
            ("上传附件有什么限制？", "文件类型和大小由系统参数中的附件规则决定，系统按文件内容识别类型，扩展名必须与内容一致。"),
        ]
        contacts = [("系统管理员", "账号、权限、系统参数", "021-60000001", "it@demo.local"),
                    ("计划财务部", "借款、报销、凭证", "021-60000002", "finance@demo.local"),
                    ("风险管理部", "评审、保后、预警", "021-60000003", "risk@demo.local")]
        for i, (title, body) in enumerate(faq):
            session.add(HelpEntry(kind="faq", title=title, body=body, sort_order=i + 1, active=True))
        for i, (title, body, phone, email) in enumerate(contacts):
            session.add(HelpEntry(kind="contact", title=title, body=body, phone=phone, email=email,
                                  sort_order=i + 1, active=True))
    if session.execute(select(func.count(CabinetFolder.id)).where(CabinetFolder.scope == "public")).scalar() == 0:
        session.add(CabinetFolder(name="公司制度", scope="public", description="全员可见的规章制度"))
        finance = session.execute(select(Department).where(Department.name.like("%财务%"))).scalars().first()
        if finance is not None:
            session.add(CabinetFolder(name="财务资料", scope="public", description="仅财务部门",
                                      departments=[finance]))
    session.commit()
