/**
 * An Express application, as people already have them, mounted inside the demo at /legacy
 * with `fromNodeHandler`: Express sees the mount as its own mounting does (`req.baseUrl`), and
 * a route that throws shows mortar's traceback, with the route's locals.
 */
import express from 'express';
import { fromNodeHandler } from '../../src/gateways/node/index.js';

const legacy = express();
legacy.use(express.urlencoded({ extended: false }));

legacy.get('/', (req, res) => {
  res.type('html').send(`<!doctype html><title>Express, mounted</title>
<h1>An Express app inside mortar</h1>
<p>req.baseUrl = <code>${req.baseUrl}</code>, req.url = <code>${req.url}</code>,
req.originalUrl = <code>${req.originalUrl}</code></p>
<form method="post" action="${req.baseUrl}/echo"><input name="word" value="mortar"><button>POST</button></form>
<p><a href="${req.baseUrl}/go">a redirect</a> · <a href="${req.baseUrl}/boom">a route that throws</a> ·
<a href="/">home</a></p>`);
});

legacy.post('/echo', (req, res) => {
  res.type('text').send(`Express read the form: word=${String(req.body.word)}\n`);
});

legacy.get('/go', (req, res) => res.redirect(`${req.baseUrl}/`));

legacy.get('/boom', (req) => {
  const order = { id: 42, items: ['tea'], from: req.originalUrl };
  throw new Error(`Express could not ship order ${order.id}`);
});

/** The Express app as a mortar Application. */
export const legacyApp = fromNodeHandler(legacy);
