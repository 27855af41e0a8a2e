// The baseline: a bare Express 5 JSON POST handler on this machine, as a process of its own.
import express from 'express';

const app = express();
app.use(express.json());
app.post('/orders', (req, res) => {
  res.status(201).json({ id: 'bare', status: 'confirmed', items: req.body?.items ?? [] });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
server.keepAliveTimeout = 65_000;
process.once('SIGTERM', () => server.close(() => process.exit(0)));
