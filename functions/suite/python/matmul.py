# Dense n x n matrix multiply of small generated integers held as floats.
M = 2147483647


def main(args):
    n = int(args.get("n", 64))
    s = int(args.get("seed", 7)) % (M - 1) + 1
    a = []
    b = []
    for _ in range(n):
        ra = []
        rb = []
        for _ in range(n):
            s = s * 48271 % M
            ra.append(float(s % 10))
            rb.append(float((s >> 4) % 10))
        a.append(ra)
        b.append(rb)
    total = 0.0
    trace = 0.0
    for i in range(n):
        ai = a[i]
        row = [0.0] * n
        for k in range(n):
            aik = ai[k]
            bk = b[k]
            for j in range(n):
                row[j] += aik * bk[j]
        trace += row[i]
        total += sum(row)
    return {"n": n, "trace": int(trace), "sum": int(total)}
