// @peculiar/x509 reads decorator metadata when its modules load, so reflect-metadata must be
// imported before it, once, in this one place. Everything else imports X.509 helpers from here.
import 'reflect-metadata';

export * as x509 from '@peculiar/x509';
