// /docs: Swagger UI over this server's /openapi.json; "Try it out" calls this server.
// The API key the chart page keeps for this tab (if any) is sent along.
'use strict';

window.ui = window.SwaggerUIBundle({
  url: document.getElementById('docs-script').dataset.spec,
  dom_id: '#swagger-ui',
  deepLinking: true,
  displayRequestDuration: true,
  requestInterceptor: (request) => {
    const key = sessionStorage.getItem('findata.apiKey');
    if (key) request.headers['X-API-Key'] = key;
    return request;
  },
});
