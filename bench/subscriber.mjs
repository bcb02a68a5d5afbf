// Benchmark subscriber: answers every delivery 200 at once and appends
// "<transaction id> <unix ms received>" per delivery to the file given with --out.
// node bench/subscriber.mjs --port N --out FILE
import fs from 'node:fs';
import http from 'node:http';

const args = process.argv.slice(2);
const port = Number(args[args.indexOf('--port') + 1]);
const out = fs.createWriteStream(args[args.indexOf('--out') + 1]);
http.createServer((req, res) => {
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const now = Date.now();
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('ok');
    try {
      const event = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      out.write(`${event.data.object.id} ${event.type} ${now}\n`);
    } catch { /* not an event */ }
  });
}).listen(port, '127.0.0.1', () => console.log(`bench subscriber on ${port}`));
