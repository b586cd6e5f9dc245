// A peer nobody in this project wrote: Node.js's net module (AF_UNIX stream), as
// a client of unixsock servers and as a server for unixsock clients.
//   node node_peer.js server PATH   answer every line with "Hi, " + line
//   node node_peer.js client PATH   send stdin's lines, print one reply line each
'use strict';
const fs = require('fs');
const net = require('net');
const readline = require('readline');

const [role, path] = process.argv.slice(2);

function fail(err) {
  process.stderr.write(`node_peer: ${err.message}\n`);
  process.exit(1);
}

if (role === 'server') {
  const server = net.createServer((conn) => {
    const lines = readline.createInterface({ input: conn, crlfDelay: Infinity });
    lines.on('line', (line) => conn.write(`Hi, ${line}\n`));
    lines.on('close', () => conn.end()); // the client ended: so does the answer
    conn.on('error', () => conn.destroy()); // a client that left: the next one
  });
  server.on('error', fail);
  server.listen(path, () => process.stdout.write('ready\n'));
} else if (role === 'client') {
  const input = fs.readFileSync(0, 'utf8').split('\n').filter((l) => l.length > 0);
  const conn = net.connect(path);
  conn.on('error', fail);
  conn.setTimeout(10000, () => fail(new Error('no answer in 10 s')));
  let got = 0;
  readline.createInterface({ input: conn, crlfDelay: Infinity }).on('line', (line) => {
    process.stdout.write(`${line}\n`);
    if (++got === input.length) conn.end();
  });
  conn.on('connect', () => {
    for (const line of input) conn.write(`${line}\n`);
    if (input.length === 0) conn.end();
  });
} else {
  process.stderr.write('usage: node node_peer.js server|client PATH\n');
  process.exit(2);
}
