"""Start the system: migrate, sync roles, load reference data, create the admin, optionally load demo
data, then serve.   python run.py [--demo] [--host 127.0.0.1] [--port 8080]"""
import argparse

from app import create_app

app = create_app()


def main():
    parser = argparse.ArgumentParser(description="融资担保业务管理系统")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--demo", action="store_true", help="load the demo data set (idempotent)")
    parser.add_argument("--demo-customers", type=int, default=500)
    parser.add_argument("--no-serve", action="store_true", help="set up and exit")
    args = parser.parse_args()

    from app.bootstrap import bootstrap

    with app.app_context():
        password = bootstrap(app.appbuilder)
        if password:
            print(f"\n  管理员账号 admin 的初始密码 / initial admin password: {password}\n"
                  "  (shown once; set ADMIN_PASSWORD to choose it)\n", flush=True)
        if args.demo:
            from app.services.demo import DEMO_PASSWORD, load_demo

            result = load_demo(app.appbuilder, customers=args.demo_customers)
            print(f"  demo data: {result}; demo users password: {DEMO_PASSWORD}", flush=True)
    if not args.no_serve:
        app.run(host=args.host, port=args.port, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
