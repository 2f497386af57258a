// hello: the smallest function; measures platform overhead only.
function main(params) {
  const name = params.name === undefined ? "world" : params.name;
  return { greeting: "Hello, " + String(name) + "!" };
}
