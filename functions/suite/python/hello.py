# hello: the smallest function; measures platform overhead only.


def main(args):
    name = args.get("name", "world")
    return {"greeting": "Hello, " + str(name) + "!"}
