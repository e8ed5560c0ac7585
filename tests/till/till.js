// Till simulator for the printer tap's tests (issue 19): receipts encoded by a real, maintained
// ESC/POS library (@point-of-sale/receipt-printer-encoder), either written to files (the fixture
// streams committed under tests/data/receipts/) or printed over TCP to a printer address, the way a
// till prints to a network receipt printer (raw TCP, port 9100).
//
//   node till.js fixtures DIR [LANG]     writes DIR/<name>.bin, one file per receipt
//   node till.js print HOST PORT SENT [LANG]
//                                        prints every receipt on one connection, in small chunks
//                                        of varying size (a till's writes are not line-aligned),
//                                        writes the bytes it sent to SENT, then asks the printer
//                                        for its status (DLE EOT 1) and prints the answer's
//                                        bytes in hex on stdout before closing.
//
// LANG is the printer's command language as the library names it: esc-pos (the default, an
// Epson-style printer) or star-prnt (a Star Micronics printer: tests/data/receipts/star-prnt/).
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import ReceiptPrinterEncoder from '@point-of-sale/receipt-printer-encoder';

let language = 'esc-pos';

function encoder(imageMode = 'column') {
  return new ReceiptPrinterEncoder({language, columns: 42, imageMode});
}

// A 42-column line with `left` and `right` at either end (longer lines would be wrapped).
function row(left, right) {
  return left + right.padStart(42 - left.length);
}

// A small black-and-white logo as the ImageData-like object the encoder takes (RGBA bytes).
function logo(width, height) {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = (x >> 3) % 2 === (y >> 3) % 2 ? 0 : 255;
      data.set([v, v, v, 255], (y * width + x) * 4);
    }
  }
  return {width, height, data};
}

// In print order; the tests expect what each one is (see tests/data/receipts/README.md).
const receipts = {
  '1_sale_qr': () => encoder('raster').initialize()
      .image(logo(64, 32), 64, 32, 'threshold')
      .align('center').bold(true).line('CORNER SHOP').bold(false)
      .line('12 High Street').align('left').newline()
      .table([{width: 30}, {width: 12, align: 'right'}], [
        ['Coffee beans 1kg', '24.50'], ['Espresso machine', '1,199.00'], ['Milk 1l', '11.00']])
      .rule()
      .bold(true).line(row('TOTAL', '1,234.50')).bold(false)
      .line('Paid by QR (PromptPay)')
      .barcode('4006381333931', 'ean13', 60)
      .qrcode('https://example.com/receipt/000123')
      .line('Thank you!')
      .newline().cut().encode(),
  '2_refund_cash': () => encoder().initialize()
      .line('CORNER SHOP').line('*** REFUND ***')
      .line(row('Milk 1l', '-11.00'))
      .line(row('TOTAL', '11.00'))
      .line(row('CASH', '11.00'))
      .pulse().cut().encode(),
  '3_no_sale': () => encoder().initialize().pulse().encode(),
  '4_card_euro': () => encoder().initialize().codepage('cp858')
      .image(logo(32, 16), 32, 16, 'threshold')
      .line('Café Zürich').line(row('Crème brûlée', '5,50 €'))
      .line(row('Käse', '1.229,00 €'))
      .line(row('TOTAL', '1.234,50 €'))
      .line('VISA 4111 1111 1111 1111')
      .line('Auth code 123456')
      .cut('partial').encode(),
};

function all() {
  return Object.entries(receipts).map(([name, make]) => [name, Buffer.from(make())]);
}

const [mode, ...args] = process.argv.slice(2);
language = args[mode === 'fixtures' ? 1 : 3] || language;
if (mode === 'fixtures') {
  for (const [name, bytes] of all()) fs.writeFileSync(path.join(args[0], `${name}.bin`), bytes);
} else if (mode === 'print') {
  const [host, port, sentFile] = args;
  const stream = Buffer.concat(all().map(([, bytes]) => bytes));
  fs.writeFileSync(sentFile, stream);
  const socket = net.connect({host, port: Number(port)}, async () => {
    // Chunks of 1..97 bytes, a fixed sequence so a failure can be replayed.
    let size = 1;
    for (let at = 0; at < stream.length; at += size, size = (size * 7 + 3) % 97 + 1) {
      if (!socket.write(stream.subarray(at, at + size))) {
        await new Promise((resolve) => socket.once('drain', resolve));
      }
    }
    socket.write(Buffer.from([0x10, 0x04, 0x01]));  // DLE EOT 1: transmit printer status
  });
  socket.once('data', (answer) => {
    console.log(answer.toString('hex'));
    socket.end();
  });
  socket.on('error', (err) => {
    console.error(`till: ${err.message}`);
    process.exit(1);
  });
} else {
  console.error('usage: till.js fixtures DIR [LANG] | print HOST PORT SENT [LANG]');
  process.exit(2);
}
