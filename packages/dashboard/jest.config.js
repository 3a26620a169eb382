module.exports = require('../../jest.package.js')(__dirname);
