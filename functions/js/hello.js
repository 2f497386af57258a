function main(params) {
  const name = params.name || "world";
  console.log(`greeting ${name}`);
  return { greeting: `hello ${name}` };
}
