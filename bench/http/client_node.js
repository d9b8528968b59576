// HTTP client benchmark, the Node side (bench/run_http_client.py): Node's built-in fetch
// (undici), with the same two modes and JSON line as the others:
//   node client_node.js URL CONCURRENCY SECONDS   workers fetching URL in a loop
//   node client_node.js crawl URL N LIMIT         N distinct URLs (URL?i=0..N-1), LIMIT at once
'use strict';

async function fetchOne(url) {
  try {
    const response = await fetch(url);
    const body = await response.arrayBuffer();
    return response.status === 200 && body.byteLength > 0;
  } catch {
    return false;
  }
}

async function main(argv) {
  const counts = { requests: 0, errors: 0 };
  const count = (ok) => { if (ok) counts.requests++; else counts.errors++; };
  const start = performance.now();
  if (argv[0] === 'crawl') {
    const [url, n, limit] = [argv[1], Number(argv[2]), Number(argv[3])];
    let next = 0;
    const worker = async () => {
      while (next < n) count(await fetchOne(`${url}?i=${next++}`));
    };
    await Promise.all(Array.from({ length: limit }, worker));
  } else {
    const [url, concurrency, seconds] = [argv[0], Number(argv[1]), Number(argv[2])];
    const until = start + seconds * 1000;
    const worker = async () => {
      while (performance.now() < until) count(await fetchOne(url));
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
  }
  counts.seconds = Number(((performance.now() - start) / 1000).toFixed(4));
  console.log(JSON.stringify(counts));
}

main(process.argv.slice(2));
