def test_admin_sees_home_in_chinese(admin_web):
    html = admin_web.get("/").get_data(as_text=True)
    assert "融资担保业务管理系统" in html
    assert "客户管理" in html


def test_customer_list_renders(admin_web):
    response = admin_web.get("/customerview/list/")
    assert response.status_code == 200
    assert "导出Excel" in response.get_data(as_text=True)
