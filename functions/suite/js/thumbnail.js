// Image downscale: an n x n generated RGB bitmap reduced 4x by box filtering.
function main(params) {
  const M = 2147483647;
  let n = Number(params.n === undefined ? 256 : params.n);
  n -= n % 4;
  let s = (Number(params.seed === undefined ? 7 : params.seed) % (M - 1)) + 1;
  const pixels = new Uint8Array(n * n * 3);
  for (let i = 0; i < n * n; i++) {
    s = (s * 48271) % M;
    pixels[3 * i] = s & 255;
    pixels[3 * i + 1] = (s >> 8) & 255;
    pixels[3 * i + 2] = (s >> 16) & 255;
  }
  const m = n / 4;
  const out = new Uint8Array(m * m * 3);
  let checksum = 0;
  for (let y = 0; y < m; y++) {
    for (let x = 0; x < m; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let dy = 0; dy < 4; dy++) {
          const base = ((4 * y + dy) * n + 4 * x) * 3 + c;
          acc += pixels[base] + pixels[base + 3] + pixels[base + 6] + pixels[base + 9];
        }
        const v = acc >> 4;
        out[(y * m + x) * 3 + c] = v;
        checksum += v;
      }
    }
  }
  return { width: m, height: m, checksum };
}
