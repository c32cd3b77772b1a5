// The dashboard page, served at / (embedded so the compiled gateway carries it).
export const INDEX_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Swarm Mesh</title>
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<div id="app"><noscript>The Swarm Mesh dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
