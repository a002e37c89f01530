// A "select all" box for a list of checkboxes (data-select-all="<their name>"): hidden without
// JavaScript, and it shows "some" (indeterminate) when only part of the list is ticked.
document.querySelectorAll("input[data-select-all]").forEach((all) => {
  const boxes = [...all.form.querySelectorAll(`input[type=checkbox][name="${all.dataset.selectAll}"]`)];
  const label = document.querySelector(`label[for="${all.id}"]`);
  all.hidden = false;
  if (label) { label.hidden = false; }
  const reflect = () => {
    const ticked = boxes.filter((box) => box.checked).length;
    all.checked = ticked === boxes.length && ticked > 0;
    all.indeterminate = ticked > 0 && ticked < boxes.length;
  };
  all.addEventListener("change", () => {
    boxes.forEach((box) => { box.checked = all.checked; });
    reflect();
  });
  boxes.forEach((box) => box.addEventListener("change", reflect));
});
