// Where this package's prebuilt library and the header it was built from live.
const path = require('node:path');
module.exports = {
  libraryPath: path.join(__dirname, 'libquiche.so'),
  headerPath: path.join(__dirname, 'quiche.h'),
};
