import type { Server } from 'node:http';

/**
 * Drops a new connection from an address that already holds `max` open ones, so that one client
 * (slow sockets, a leaking pool) cannot take the whole connection budget of the server from the
 * others. Behind a proxy every client shares the proxy's address: raise the cap there.
 */
export function capConnectionsPerAddress(server: Server, max: number): void {
  const open = new Map<string, number>();
  server.on('connection', (socket) => {
    const address = socket.remoteAddress ?? '';
    const count = open.get(address) ?? 0;
    if (count >= max) {
      socket.destroy();
      return;
    }
    open.set(address, count + 1);
    socket.once('close', () => {
      const left = (open.get(address) ?? 1) - 1;
      if (left <= 0) open.delete(address);
      else open.set(address, left);
    });
  });
}
