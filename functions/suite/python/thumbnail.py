# Image downscale: an n x n generated RGB bitmap reduced 4x by box filtering.
M = 2147483647


def main(args):
    n = int(args.get("n", 256))
    n -= n % 4
    s = int(args.get("seed", 7)) % (M - 1) + 1
    pixels = bytearray(n * n * 3)
    for i in range(n * n):
        s = s * 48271 % M
        pixels[3 * i] = s & 255
        pixels[3 * i + 1] = (s >> 8) & 255
        pixels[3 * i + 2] = (s >> 16) & 255
    m = n // 4
    out = bytearray(m * m * 3)
    for y in range(m):
        for x in range(m):
            for c in range(3):
                acc = 0
                for dy in range(4):
                    base = ((4 * y + dy) * n + 4 * x) * 3 + c
                    acc += pixels[base] + pixels[base + 3] + pixels[base + 6] + pixels[base + 9]
                out[(y * m + x) * 3 + c] = acc // 16
    return {"width": m, "height": m, "checksum": sum(out)}
