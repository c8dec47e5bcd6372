// The browser entry must not import node:* modules, so it re-exports the error classes from their own file.
export * from '../errors.js';
