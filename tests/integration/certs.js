'use strict';
// Test certificates made by openssl at test time, in `dir`: two CAs ("ca" and
// "other-ca"), a server certificate for localhost and 127.0.0.1 signed by
// "ca", and a client certificate signed by "ca" whose key is encrypted
// (PKCS#8) with the password held in the file "key-password".

const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

function makeCerts(dir) {
  const openssl = (...args) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-pkeyopt', 'ec_paramgen_curve:prime256v1'];
  fs.writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n');
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'ec', ...ec, '-nodes', '-keyout', `${ca}.key`, '-out', `${ca}.crt`,
      '-days', '2', '-subj', `/CN=hearth test ${ca}`);
  }
  openssl('req', '-newkey', 'ec', ...ec, '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
  fs.writeFileSync(path.join(dir, 'key-password'), 'a client key password\n');
  openssl('genpkey', '-algorithm', 'EC', ...ec, '-aes-256-cbc', '-pass', 'file:key-password', '-out', 'client.key');
  openssl('req', '-new', '-key', 'client.key', '-passin', 'file:key-password', '-out', 'client.csr', '-subj', '/CN=hearth');
  openssl('x509', '-req', '-in', 'client.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial',
    '-out', 'client.crt', '-days', '2');
  assert.match(fs.readFileSync(path.join(dir, 'client.key'), 'utf8'), /BEGIN ENCRYPTED PRIVATE KEY/);
  return (name) => path.join(dir, name);
}

module.exports = { makeCerts };
