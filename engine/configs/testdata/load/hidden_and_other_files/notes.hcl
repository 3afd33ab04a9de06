nor this {
