import http from 'node:http';
import net from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { defineConfig } from '../../src/config.js';
import { describeEachStoreKind } from '../helpers/each-store.js';
import { openTestStore, type TestStore } from '../helpers/stores.js';

const HOG = '127.0.0.2';
const OTHER = '127.0.0.3';

function get(port: number, from: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: '/health', localAddress: from, agent: false },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('no answer in 5 s')));
    req.on('error', reject);
    req.end();
  });
}

describeEachStoreKind('connections capped per client address', (kind) => {
  let testStore: TestStore;
  let app: FastifyInstance;
  let port: number;
  const held: net.Socket[] = [];

  beforeAll(async () => {
    testStore = await openTestStore(kind);
    // A small server: 8 connections in all, 4 from any one address.
    app = await buildApp(defineConfig({ store: testStore.config, maxConnectionsPerAddress: 4 }), {
      store: testStore.store,
      limits: { maxConnections: 8 },
    });
    await app.listen({ port: 0, host: '127.0.0.1' });
    port = (app.server.address() as net.AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of held) s.destroy();
    await app.close();
    await testStore.dispose();
  });

  it('keeps answering another address while one client holds more sockets than its cap', async () => {
    // The hog opens 12 sockets and sends nothing (the slow-socket attack).
    for (let i = 0; i < 12; i++) {
      const socket = net.connect({ host: '127.0.0.1', port, localAddress: HOG });
      socket.on('error', () => undefined);
      held.push(socket);
      await new Promise<void>((resolve) => {
        socket.once('connect', () => resolve());
        socket.once('close', () => resolve());
      });
    }
    // Let the server accept (and drop) them all.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(held.filter((s) => !s.destroyed).length).toBeGreaterThan(0);
    for (let i = 0; i < 3; i++) expect(await get(port, OTHER)).toBe(200);
  });
});
