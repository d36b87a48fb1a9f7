/**
 * relevo's icon: a white speech bubble on a blue rounded square, as SVG and as ICO. The ICO is
 * drawn here from the same shapes as the SVG: 32×32 pixels, 32-bit BGRA with alpha, 4 × 4
 * samples per pixel for smooth edges.
 */

const BLUE = [0x25, 0x63, 0xeb] as const;
const SIZE = 32;
const SAMPLES = 4;

export const FAVICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">\
<rect width="32" height="32" rx="7" fill="#2563eb"/>\
<rect x="6" y="7" width="20" height="14" rx="4" fill="#fff"/>\
<path d="M10 20v6l6-6z" fill="#fff"/></svg>`;

function inRoundedRect(x: number, y: number, x0: number, y0: number, w: number, h: number, r: number) {
  if (x < x0 || y < y0 || x > x0 + w || y > y0 + h) return false;
  const cx = Math.min(Math.max(x, x0 + r), x0 + w - r);
  const cy = Math.min(Math.max(y, y0 + r), y0 + h - r);
  return (x - cx) ** 2 + (y - cy) ** 2 <= r * r;
}

/** The tail of the bubble: the triangle (10,20) (10,26) (16,20). */
function inTail(x: number, y: number): boolean {
  return x >= 10 && y >= 20 && x - 10 + (y - 20) <= 6;
}

/** How much of pixel (px, py) each shape covers, from 0 to 1. */
function coverage(px: number, py: number): { square: number; bubble: number } {
  let square = 0;
  let bubble = 0;
  for (let i = 0; i < SAMPLES; i++) {
    for (let j = 0; j < SAMPLES; j++) {
      const x = px + (i + 0.5) / SAMPLES;
      const y = py + (j + 0.5) / SAMPLES;
      if (!inRoundedRect(x, y, 0, 0, SIZE, SIZE, 7)) continue;
      square++;
      if (inRoundedRect(x, y, 6, 7, 20, 14, 4) || inTail(x, y)) bubble++;
    }
  }
  const n = SAMPLES * SAMPLES;
  return { square: square / n, bubble: bubble / n };
}

/** An ICO file with one 32×32 32-bit image (a BMP without its file header, height doubled). */
export function drawFaviconIco(): Buffer {
  const pixels = SIZE * SIZE * 4;
  const mask = SIZE * 4; // one bit per pixel, rows padded to 4 bytes; all 0: alpha decides
  const header = Buffer.alloc(6 + 16 + 40);
  header.writeUInt16LE(0, 0);
  header.writeUInt16LE(1, 2); // an icon
  header.writeUInt16LE(1, 4); // one image
  header.writeUInt8(SIZE, 6);
  header.writeUInt8(SIZE, 7);
  header.writeUInt16LE(1, 10); // colour planes
  header.writeUInt16LE(32, 12); // bits per pixel
  header.writeUInt32LE(40 + pixels + mask, 14);
  header.writeUInt32LE(22, 18); // where the image starts
  header.writeUInt32LE(40, 22); // BITMAPINFOHEADER
  header.writeInt32LE(SIZE, 26);
  header.writeInt32LE(SIZE * 2, 30); // colour rows and mask rows
  header.writeUInt16LE(1, 34);
  header.writeUInt16LE(32, 36);
  header.writeUInt32LE(pixels + mask, 42);
  const body = Buffer.alloc(pixels + mask);
  for (let py = 0; py < SIZE; py++) {
    // BMP rows go bottom-up.
    const row = (SIZE - 1 - py) * SIZE * 4;
    for (let px = 0; px < SIZE; px++) {
      const { square, bubble } = coverage(px, py);
      const white = square === 0 ? 0 : bubble / square;
      const at = row + px * 4;
      body[at] = Math.round(BLUE[2] + (255 - BLUE[2]) * white);
      body[at + 1] = Math.round(BLUE[1] + (255 - BLUE[1]) * white);
      body[at + 2] = Math.round(BLUE[0] + (255 - BLUE[0]) * white);
      body[at + 3] = Math.round(255 * square);
    }
  }
  return Buffer.concat([header, body]);
}
