import { SmtpTransport } from './smtp-transport';

/** What nodemailer was configured with (its transport keeps the options it was given). */
function optionsOf(url: string): { requireTLS?: boolean; secure?: boolean } {
  const transport = new SmtpTransport(url, 'App <no-reply@example.com>');
  try {
    return (transport as unknown as { transporter: { options: { requireTLS?: boolean; secure?: boolean } } }).transporter.options;
  } finally {
    transport.close();
  }
}

describe('SmtpTransport', () => {
  it('requires STARTTLS on smtp:// to another machine: no password or link goes out in clear', () => {
    expect(optionsOf('smtp://user:pass@smtp.example.com:587').requireTLS).toBe(true);
    expect(optionsOf('smtp://10.0.0.5:25').requireTLS).toBe(true);
  });

  it('speaks plain SMTP only to a server on this machine (a local relay, a mail catcher)', () => {
    for (const url of ['smtp://127.0.0.1:1025', 'smtp://localhost:1025', 'smtp://[::1]:1025'])
      expect(optionsOf(url).requireTLS).toBe(false);
  });
});
